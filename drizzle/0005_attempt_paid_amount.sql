ALTER TABLE "channel_attempts" ADD COLUMN "paid_amount" bigint;--> statement-breakpoint
ALTER TABLE "channel_attempts" ADD COLUMN "version" integer DEFAULT 0 NOT NULL;