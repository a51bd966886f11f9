ALTER TABLE "unified"."sync_positions" DROP COLUMN IF EXISTS "last_error_at";
--> statement-breakpoint
ALTER TABLE "unified"."sync_positions" DROP COLUMN IF EXISTS "last_error";
