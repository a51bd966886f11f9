-- Reverts 0001_legacy_tables, in the reverse order of its statements.
DROP INDEX "legacy"."items_embedding_hnsw_idx";--> statement-breakpoint
DROP INDEX "legacy"."items_category_id_idx";--> statement-breakpoint
ALTER TABLE "legacy"."items" DROP CONSTRAINT "items_seller_id_users_id_fk";--> statement-breakpoint
DROP TABLE "legacy"."users";--> statement-breakpoint
DROP TABLE "legacy"."items";--> statement-breakpoint
DROP SCHEMA "legacy";
