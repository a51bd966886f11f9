DROP TABLE IF EXISTS "unified"."migration_checkpoints";
