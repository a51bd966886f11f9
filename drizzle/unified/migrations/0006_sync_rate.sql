ALTER TABLE "unified"."sync_positions" ADD COLUMN "conflicts" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "unified"."sync_positions" ADD COLUMN "rows_per_second" double precision DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "unified"."sync_positions" ADD COLUMN "rate_at" timestamp (3) with time zone;