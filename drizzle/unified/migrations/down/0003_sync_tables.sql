DROP TABLE IF EXISTS "unified"."sync_dead_letters";
--> statement-breakpoint
DROP TABLE IF EXISTS "unified"."sync_positions";
--> statement-breakpoint
DROP TABLE IF EXISTS "unified"."garment_tombstones";
--> statement-breakpoint
DROP TABLE IF EXISTS "unified"."sync_changes";
