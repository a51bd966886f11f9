ALTER TABLE "legacy"."sync_positions" DROP COLUMN IF EXISTS "rate_at";
--> statement-breakpoint
ALTER TABLE "legacy"."sync_positions" DROP COLUMN IF EXISTS "rows_per_second";
--> statement-breakpoint
ALTER TABLE "legacy"."sync_positions" DROP COLUMN IF EXISTS "conflicts";
