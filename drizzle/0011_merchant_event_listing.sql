ALTER TABLE "merchant_notification_deliveries" ALTER COLUMN "attempt_no" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "merchant_notification_deliveries" ADD COLUMN "trigger" text DEFAULT 'SCHEDULE' NOT NULL;--> statement-breakpoint
ALTER TABLE "merchant_notification_deliveries" ADD COLUMN "duration_ms" integer;--> statement-breakpoint
CREATE INDEX "merchant_notifications_merchant_created_idx" ON "merchant_notifications" USING btree ("merchant_id","created_at","event_id");--> statement-breakpoint
CREATE INDEX "refunds_merchant_created_idx" ON "refunds" USING btree ("merchant_id","created_at","id");