ALTER TABLE "pay_orders" ADD COLUMN "attention_code" text;--> statement-breakpoint
ALTER TABLE "pay_orders" ADD COLUMN "attention_reason" text;--> statement-breakpoint
ALTER TABLE "pay_orders" ADD COLUMN "flagged_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "pay_orders_flagged_idx" ON "pay_orders" USING btree (coalesce("flagged_at", "updated_at"),"id") WHERE "pay_orders"."needs_attention";--> statement-breakpoint
-- Orders flagged before the flag's time was kept: flagged, at the latest, when last changed.
UPDATE "pay_orders" SET "flagged_at" = "updated_at" WHERE "needs_attention" AND "flagged_at" IS NULL;
