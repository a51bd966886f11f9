DROP TRIGGER IF EXISTS "items_capture_change" ON "legacy"."items";
--> statement-breakpoint
DROP FUNCTION IF EXISTS "legacy"."capture_item_change"();
