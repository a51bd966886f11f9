-- Reverts 0000_vector_extension. The extension is shared: the legacy and the unified schemas may live in one
-- database (the embedded example keeps both in one PGlite), and each one's 0000 creates it IF NOT EXISTS.
-- While the other schema still has vector columns, a plain DROP EXTENSION would fail (those columns depend
-- on it) and DROP ... CASCADE would delete them. So it is dropped only when no column in any schema still
-- uses one of its types (vector, halfvec, sparsevec, or an array or domain over one); otherwise it stays for
-- whoever still needs it, and the last schema reverted drops it.
DO $$
BEGIN
  IF NOT EXISTS (
    SELECT 1
    FROM pg_attribute a
    JOIN pg_type t ON t.oid = a.atttypid
    JOIN pg_depend d ON d.classid = 'pg_type'::regclass AND d.deptype = 'e'
      AND d.objid IN (t.oid, t.typelem, t.typbasetype)
    JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'vector'
    WHERE a.attnum > 0 AND NOT a.attisdropped
  ) THEN
    DROP EXTENSION IF EXISTS vector;
  END IF;
END
$$;
