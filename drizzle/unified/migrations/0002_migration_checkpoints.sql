CREATE TABLE "unified"."migration_checkpoints" (
	"job" text PRIMARY KEY NOT NULL,
	"position" bigint NOT NULL,
	"rows" bigint DEFAULT 0 NOT NULL,
	"started_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp (3) with time zone
);
