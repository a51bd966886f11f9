CREATE SCHEMA "legacy";
--> statement-breakpoint
CREATE TABLE "legacy"."items" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"depop_id" text NOT NULL,
	"seller_id" bigint,
	"title" text NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"category" text NOT NULL,
	"condition" text NOT NULL,
	"size" text,
	"brand" text,
	"price" numeric(10, 2) NOT NULL,
	"image_url" text,
	"listing_url" text,
	"embedding" vector(768),
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "items_depop_id_unique" UNIQUE("depop_id")
);
--> statement-breakpoint
CREATE TABLE "legacy"."users" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"username" text NOT NULL,
	"email" text,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "users_username_unique" UNIQUE("username")
);
--> statement-breakpoint
ALTER TABLE "legacy"."items" ADD CONSTRAINT "items_seller_id_users_id_fk" FOREIGN KEY ("seller_id") REFERENCES "legacy"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "items_category_id_idx" ON "legacy"."items" USING btree ("category","id");--> statement-breakpoint
CREATE INDEX "items_embedding_hnsw_idx" ON "legacy"."items" USING hnsw ("embedding" vector_cosine_ops);