CREATE TABLE "legacy"."sync_changes" (
	"seq" bigserial PRIMARY KEY NOT NULL,
	"xid" "xid8" DEFAULT pg_current_xact_id() NOT NULL,
	"op" text NOT NULL,
	"row_id" bigint NOT NULL,
	"changed_at" timestamp (3) with time zone DEFAULT clock_timestamp() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "legacy"."sync_dead_letters" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"direction" text NOT NULL,
	"row_id" bigint NOT NULL,
	"op" text NOT NULL,
	"source_xid" "xid8" NOT NULL,
	"source_seq" bigint NOT NULL,
	"reason" text NOT NULL,
	"payload" jsonb,
	"attempts" integer DEFAULT 1 NOT NULL,
	"parked_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"replayed_at" timestamp (3) with time zone
);
--> statement-breakpoint
CREATE TABLE "legacy"."sync_positions" (
	"direction" text PRIMARY KEY NOT NULL,
	"xid" "xid8" NOT NULL,
	"seq" bigint NOT NULL,
	"applied" bigint DEFAULT 0 NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "legacy"."item_tombstones" (
	"row_id" bigint PRIMARY KEY NOT NULL,
	"deleted_at" timestamp (3) with time zone NOT NULL
);
--> statement-breakpoint
CREATE INDEX "sync_changes_xid_seq_idx" ON "legacy"."sync_changes" USING btree ("xid","seq");