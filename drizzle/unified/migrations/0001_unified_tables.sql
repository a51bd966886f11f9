CREATE SCHEMA "unified";
--> statement-breakpoint
CREATE SEQUENCE "unified"."v2_item_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1000000000000 CACHE 1;--> statement-breakpoint
CREATE TABLE "unified"."garments" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"legacy_id" bigint DEFAULT nextval('unified.v2_item_id_seq') NOT NULL,
	"owner_id" uuid,
	"external_id" text,
	"source" text DEFAULT 'native' NOT NULL,
	"original_url" text,
	"original_image_url" text,
	"title" text NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"category" text NOT NULL,
	"condition" text NOT NULL,
	"size" text,
	"brand" text,
	"story" jsonb DEFAULT '{"text":""}'::jsonb NOT NULL,
	"provenance" jsonb DEFAULT '{"source":"native"}'::jsonb NOT NULL,
	"exchange_type" text DEFAULT 'sell' NOT NULL,
	"price" numeric(10, 2),
	"currency" text DEFAULT 'AUD' NOT NULL,
	"style_attributes" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"embedding" vector(768),
	"view_count" integer DEFAULT 0 NOT NULL,
	"save_count" integer DEFAULT 0 NOT NULL,
	"status" text DEFAULT 'active' NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"search" "tsvector" GENERATED ALWAYS AS (to_tsvector('english', coalesce(title, '') || ' ' || coalesce(description, '') || ' ' || coalesce(brand, '') || ' ' || coalesce(category, ''))) STORED,
	CONSTRAINT "garments_legacy_id_unique" UNIQUE("legacy_id"),
	CONSTRAINT "garments_exchange_type_check" CHECK ("unified"."garments"."exchange_type" in ('sell', 'swap', 'rent', 'donate')),
	CONSTRAINT "garments_currency_check" CHECK ("unified"."garments"."currency" ~ '^[A-Z]{3}$'),
	CONSTRAINT "garments_status_check" CHECK ("unified"."garments"."status" in ('active', 'sold', 'hidden')),
	CONSTRAINT "garments_price_check" CHECK ("unified"."garments"."price" is null or "unified"."garments"."price" >= 0)
);
--> statement-breakpoint
CREATE TABLE "unified"."users" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"legacy_id" bigint,
	"username" text NOT NULL,
	"email" text,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "users_legacy_id_unique" UNIQUE("legacy_id"),
	CONSTRAINT "users_username_unique" UNIQUE("username")
);
--> statement-breakpoint
CREATE TABLE "unified"."wardrobes" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"owner_id" uuid NOT NULL,
	"name" text NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "unified"."garments" ADD CONSTRAINT "garments_owner_id_users_id_fk" FOREIGN KEY ("owner_id") REFERENCES "unified"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "unified"."wardrobes" ADD CONSTRAINT "wardrobes_owner_id_users_id_fk" FOREIGN KEY ("owner_id") REFERENCES "unified"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "garments_source_external_id_idx" ON "unified"."garments" USING btree ("source","external_id");--> statement-breakpoint
CREATE INDEX "garments_category_idx" ON "unified"."garments" USING btree ("category");--> statement-breakpoint
CREATE INDEX "garments_price_idx" ON "unified"."garments" USING btree ("price");--> statement-breakpoint
CREATE INDEX "garments_created_idx" ON "unified"."garments" USING btree ("created_at","id");--> statement-breakpoint
CREATE INDEX "garments_embedding_hnsw_idx" ON "unified"."garments" USING hnsw ("embedding" vector_cosine_ops);--> statement-breakpoint
CREATE INDEX "garments_search_gin_idx" ON "unified"."garments" USING gin ("search");--> statement-breakpoint
CREATE INDEX "wardrobes_owner_idx" ON "unified"."wardrobes" USING btree ("owner_id");