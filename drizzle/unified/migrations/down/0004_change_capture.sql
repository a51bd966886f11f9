DROP TRIGGER IF EXISTS "garments_capture_change" ON "unified"."garments";
--> statement-breakpoint
DROP FUNCTION IF EXISTS "unified"."capture_garment_change"();
