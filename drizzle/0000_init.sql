CREATE TABLE "channel_attempts" (
	"id" text PRIMARY KEY NOT NULL,
	"pay_order_id" text NOT NULL,
	"channel" text NOT NULL,
	"method" text NOT NULL,
	"out_trade_no" text NOT NULL,
	"amount" bigint NOT NULL,
	"currency" char(3) NOT NULL,
	"status" text NOT NULL,
	"pay_url" text,
	"channel_trade_no" text,
	"paid_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "channel_notifications" (
	"id" text PRIMARY KEY NOT NULL,
	"channel" text NOT NULL,
	"dedupe_key" text NOT NULL,
	"out_trade_no" text NOT NULL,
	"pay_order_id" text,
	"headers" jsonb NOT NULL,
	"raw_body" text NOT NULL,
	"status" text DEFAULT 'RECEIVED' NOT NULL,
	"deliveries" integer DEFAULT 0 NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	"processed_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "merchant_api_keys" (
	"id" text PRIMARY KEY NOT NULL,
	"merchant_id" text NOT NULL,
	"key_hash" text NOT NULL,
	"key_prefix" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"revoked_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "merchant_notification_deliveries" (
	"id" text PRIMARY KEY NOT NULL,
	"event_id" text NOT NULL,
	"attempt_no" integer NOT NULL,
	"response_status" integer,
	"error" text,
	"attempted_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "merchant_notifications" (
	"event_id" text PRIMARY KEY NOT NULL,
	"merchant_id" text NOT NULL,
	"pay_order_id" text NOT NULL,
	"type" text NOT NULL,
	"url" text NOT NULL,
	"payload" jsonb NOT NULL,
	"status" text DEFAULT 'PENDING' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"delivered_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "merchants" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"notify_secret" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "pay_orders" (
	"id" text PRIMARY KEY NOT NULL,
	"merchant_id" text NOT NULL,
	"merchant_order_no" text NOT NULL,
	"amount" bigint NOT NULL,
	"currency" char(3) NOT NULL,
	"subject" text NOT NULL,
	"status" text DEFAULT 'CREATED' NOT NULL,
	"needs_attention" boolean DEFAULT false NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"notify_url" text,
	"return_url" text,
	"workflow_started" boolean DEFAULT false NOT NULL,
	"version" integer DEFAULT 0 NOT NULL,
	"paid_attempt_id" text,
	"paid_at" timestamp with time zone,
	"closed_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "refunds" (
	"id" text PRIMARY KEY NOT NULL,
	"pay_order_id" text NOT NULL,
	"merchant_id" text NOT NULL,
	"attempt_id" text NOT NULL,
	"merchant_refund_no" text,
	"amount" bigint NOT NULL,
	"currency" char(3) NOT NULL,
	"reason" text NOT NULL,
	"status" text NOT NULL,
	"channel_refund_no" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "channel_attempts" ADD CONSTRAINT "channel_attempts_pay_order_id_pay_orders_id_fk" FOREIGN KEY ("pay_order_id") REFERENCES "public"."pay_orders"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "merchant_api_keys" ADD CONSTRAINT "merchant_api_keys_merchant_id_merchants_id_fk" FOREIGN KEY ("merchant_id") REFERENCES "public"."merchants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "merchant_notification_deliveries" ADD CONSTRAINT "merchant_notification_deliveries_event_id_merchant_notifications_event_id_fk" FOREIGN KEY ("event_id") REFERENCES "public"."merchant_notifications"("event_id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "merchant_notifications" ADD CONSTRAINT "merchant_notifications_merchant_id_merchants_id_fk" FOREIGN KEY ("merchant_id") REFERENCES "public"."merchants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pay_orders" ADD CONSTRAINT "pay_orders_merchant_id_merchants_id_fk" FOREIGN KEY ("merchant_id") REFERENCES "public"."merchants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "refunds" ADD CONSTRAINT "refunds_pay_order_id_pay_orders_id_fk" FOREIGN KEY ("pay_order_id") REFERENCES "public"."pay_orders"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "refunds" ADD CONSTRAINT "refunds_merchant_id_merchants_id_fk" FOREIGN KEY ("merchant_id") REFERENCES "public"."merchants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "refunds" ADD CONSTRAINT "refunds_attempt_id_channel_attempts_id_fk" FOREIGN KEY ("attempt_id") REFERENCES "public"."channel_attempts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "channel_attempts_out_trade_no_uq" ON "channel_attempts" USING btree ("channel","out_trade_no");--> statement-breakpoint
CREATE INDEX "channel_attempts_pay_order_idx" ON "channel_attempts" USING btree ("pay_order_id");--> statement-breakpoint
CREATE UNIQUE INDEX "channel_notifications_dedupe_uq" ON "channel_notifications" USING btree ("channel","dedupe_key");--> statement-breakpoint
CREATE UNIQUE INDEX "merchant_api_keys_hash_uq" ON "merchant_api_keys" USING btree ("key_hash");--> statement-breakpoint
CREATE UNIQUE INDEX "merchant_notification_deliveries_attempt_uq" ON "merchant_notification_deliveries" USING btree ("event_id","attempt_no");--> statement-breakpoint
CREATE INDEX "merchant_notifications_pay_order_idx" ON "merchant_notifications" USING btree ("pay_order_id");--> statement-breakpoint
CREATE UNIQUE INDEX "pay_orders_merchant_order_uq" ON "pay_orders" USING btree ("merchant_id","merchant_order_no");--> statement-breakpoint
CREATE INDEX "pay_orders_needs_attention_idx" ON "pay_orders" USING btree ("needs_attention") WHERE "pay_orders"."needs_attention";--> statement-breakpoint
CREATE UNIQUE INDEX "refunds_merchant_refund_no_uq" ON "refunds" USING btree ("merchant_id","merchant_refund_no");--> statement-breakpoint
CREATE INDEX "refunds_pay_order_idx" ON "refunds" USING btree ("pay_order_id");