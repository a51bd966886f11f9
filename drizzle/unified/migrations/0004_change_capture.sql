-- Change capture for the two-way sync. Each change is recorded with the id of the transaction that made it
-- (xid8). The sync reads only transactions older than its snapshot's xmin, all of which have ended, so a
-- transaction that commits late cannot slip behind the sync's position; a sequence number alone would let
-- it, since numbers are drawn in one order and committed in another.
-- Rows the sync itself writes are not captured again (it sets switchyard.sync_apply for its transactions),
-- so each change makes one trip and never loops. A delete leaves a tombstone either way, so that an older
-- update arriving from the other side cannot bring the row back.
CREATE FUNCTION "unified"."capture_garment_change"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    INSERT INTO "unified"."garment_tombstones" (row_id, deleted_at) VALUES (OLD.legacy_id, clock_timestamp())
      ON CONFLICT (row_id) DO UPDATE SET deleted_at = EXCLUDED.deleted_at;
  END IF;
  IF coalesce(current_setting('switchyard.sync_apply', true), '') = 'on' THEN
    RETURN NULL;
  END IF;
  INSERT INTO "unified"."sync_changes" (op, row_id)
    VALUES (left(TG_OP, 1), CASE WHEN TG_OP = 'DELETE' THEN OLD.legacy_id ELSE NEW.legacy_id END);
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER "garments_capture_change" AFTER INSERT OR UPDATE OR DELETE ON "unified"."garments"
  FOR EACH ROW EXECUTE FUNCTION "unified"."capture_garment_change"();
