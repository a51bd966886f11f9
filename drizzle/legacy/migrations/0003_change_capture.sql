-- Change capture for the two-way sync. Each change is recorded with the id of the transaction that made it
-- (xid8). The sync reads only transactions older than its snapshot's xmin, all of which have ended, so a
-- transaction that commits late cannot slip behind the sync's position; a sequence number alone would let
-- it, since numbers are drawn in one order and committed in another.
-- Rows the sync itself writes are not captured again (it sets switchyard.sync_apply for its transactions),
-- so each change makes one trip and never loops. A delete leaves a tombstone either way, so that an older
-- update arriving from the other side cannot bring the row back.
CREATE FUNCTION "legacy"."capture_item_change"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    INSERT INTO "legacy"."item_tombstones" (row_id, deleted_at) VALUES (OLD.id, clock_timestamp())
      ON CONFLICT (row_id) DO UPDATE SET deleted_at = EXCLUDED.deleted_at;
  END IF;
  IF coalesce(current_setting('switchyard.sync_apply', true), '') = 'on' THEN
    RETURN NULL;
  END IF;
  INSERT INTO "legacy"."sync_changes" (op, row_id)
    VALUES (left(TG_OP, 1), CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END);
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER "items_capture_change" AFTER INSERT OR UPDATE OR DELETE ON "legacy"."items"
  FOR EACH ROW EXECUTE FUNCTION "legacy"."capture_item_change"();
