ALTER TABLE "channel_attempts" ADD COLUMN "saved_in_task_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "pay_orders" ADD COLUMN "saved_in_task_at" timestamp with time zone;