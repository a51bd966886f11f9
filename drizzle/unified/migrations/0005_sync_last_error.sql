ALTER TABLE "unified"."sync_positions" ADD COLUMN "last_error" text;--> statement-breakpoint
ALTER TABLE "unified"."sync_positions" ADD COLUMN "last_error_at" timestamp (3) with time zone;