CREATE TABLE "channel_statements" (
	"id" text PRIMARY KEY NOT NULL,
	"channel" text NOT NULL,
	"day" text NOT NULL,
	"sha256" text NOT NULL,
	"raw_base64" text NOT NULL,
	"lines" jsonb NOT NULL,
	"fetched_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "reconciliation_differences" (
	"id" text PRIMARY KEY NOT NULL,
	"channel" text NOT NULL,
	"day" text NOT NULL,
	"kind" text NOT NULL,
	"reference" text NOT NULL,
	"pay_order_id" text,
	"attempt_id" text,
	"refund_id" text,
	"currency" char(3),
	"channel_amount" bigint,
	"book_amount" bigint,
	"evidence" jsonb NOT NULL,
	"resolution" text NOT NULL,
	"action" text NOT NULL,
	"urgent" boolean DEFAULT false NOT NULL,
	"note" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"resolved_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "reconciliations" (
	"channel" text NOT NULL,
	"day" text NOT NULL,
	"status" text NOT NULL,
	"statement_id" text,
	"runs" integer DEFAULT 1 NOT NULL,
	"report" jsonb,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "safety_net_findings" (
	"id" text PRIMARY KEY NOT NULL,
	"check" text NOT NULL,
	"subject" text NOT NULL,
	"pay_order_id" text,
	"action" text NOT NULL,
	"detail" jsonb NOT NULL,
	"times_seen" integer DEFAULT 1 NOT NULL,
	"first_seen_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_seen_at" timestamp with time zone DEFAULT now() NOT NULL,
	"cleared_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "reconciliations" ADD CONSTRAINT "reconciliations_statement_id_channel_statements_id_fk" FOREIGN KEY ("statement_id") REFERENCES "public"."channel_statements"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "channel_statements_day_sha_uq" ON "channel_statements" USING btree ("channel","day","sha256");--> statement-breakpoint
CREATE UNIQUE INDEX "reconciliation_differences_uq" ON "reconciliation_differences" USING btree ("channel","day","kind","reference");--> statement-breakpoint
CREATE INDEX "reconciliation_differences_open_idx" ON "reconciliation_differences" USING btree ("resolution") WHERE "reconciliation_differences"."resolution" in ('OPS', 'CORRECTING');--> statement-breakpoint
CREATE UNIQUE INDEX "reconciliations_channel_day_uq" ON "reconciliations" USING btree ("channel","day");--> statement-breakpoint
CREATE UNIQUE INDEX "safety_net_findings_check_subject_uq" ON "safety_net_findings" USING btree ("check","subject");