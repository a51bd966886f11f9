DROP TABLE IF EXISTS "legacy"."sync_dead_letters";
--> statement-breakpoint
DROP TABLE IF EXISTS "legacy"."sync_positions";
--> statement-breakpoint
DROP TABLE IF EXISTS "legacy"."item_tombstones";
--> statement-breakpoint
DROP TABLE IF EXISTS "legacy"."sync_changes";
