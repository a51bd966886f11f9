-- Reverts 0001_unified_tables, in the reverse order of its statements.
DROP INDEX "unified"."wardrobes_owner_idx";--> statement-breakpoint
DROP INDEX "unified"."garments_search_gin_idx";--> statement-breakpoint
DROP INDEX "unified"."garments_embedding_hnsw_idx";--> statement-breakpoint
DROP INDEX "unified"."garments_created_idx";--> statement-breakpoint
DROP INDEX "unified"."garments_price_idx";--> statement-breakpoint
DROP INDEX "unified"."garments_category_idx";--> statement-breakpoint
DROP INDEX "unified"."garments_source_external_id_idx";--> statement-breakpoint
ALTER TABLE "unified"."wardrobes" DROP CONSTRAINT "wardrobes_owner_id_users_id_fk";--> statement-breakpoint
ALTER TABLE "unified"."garments" DROP CONSTRAINT "garments_owner_id_users_id_fk";--> statement-breakpoint
DROP TABLE "unified"."wardrobes";--> statement-breakpoint
DROP TABLE "unified"."users";--> statement-breakpoint
DROP TABLE "unified"."garments";--> statement-breakpoint
DROP SEQUENCE "unified"."v2_item_id_seq";--> statement-breakpoint
DROP SCHEMA "unified";
