CREATE TABLE "channel_statement_chunks" (
	"statement_id" text NOT NULL,
	"n" integer NOT NULL,
	"raw_base64" text NOT NULL,
	CONSTRAINT "channel_statement_chunks_statement_id_n_pk" PRIMARY KEY("statement_id","n")
);
--> statement-breakpoint
CREATE TABLE "channel_statement_lines" (
	"statement_id" text NOT NULL,
	"n" integer NOT NULL,
	"kind" text NOT NULL,
	"out_trade_no" text NOT NULL,
	"channel_trade_no" text NOT NULL,
	"amount" bigint NOT NULL,
	"currency" text NOT NULL,
	"refund_no" text,
	"at" text NOT NULL,
	"reference" text NOT NULL,
	CONSTRAINT "channel_statement_lines_statement_id_n_pk" PRIMARY KEY("statement_id","n")
);
--> statement-breakpoint
ALTER TABLE "channel_statements" ALTER COLUMN "sha256" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "channel_statement_chunks" ADD CONSTRAINT "channel_statement_chunks_statement_id_channel_statements_id_fk" FOREIGN KEY ("statement_id") REFERENCES "public"."channel_statements"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "channel_statement_lines" ADD CONSTRAINT "channel_statement_lines_statement_id_channel_statements_id_fk" FOREIGN KEY ("statement_id") REFERENCES "public"."channel_statements"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
-- The statements stored before: their lines and files move to the new tables (the file as one piece).
INSERT INTO "channel_statement_lines" ("statement_id", "n", "kind", "out_trade_no", "channel_trade_no", "amount", "currency", "refund_no", "at", "reference")
SELECT s."id", e.ord::integer, e.line->>'kind', e.line->>'outTradeNo', e.line->>'channelTradeNo', (e.line->>'amount')::bigint, e.line->>'currency', e.line->>'refundNo', e.line->>'at', coalesce(e.line->>'refundNo', e.line->>'outTradeNo')
FROM "channel_statements" s CROSS JOIN LATERAL jsonb_array_elements(s."lines") WITH ORDINALITY AS e(line, ord);--> statement-breakpoint
INSERT INTO "channel_statement_chunks" ("statement_id", "n", "raw_base64")
SELECT "id", 0, "raw_base64" FROM "channel_statements" WHERE "raw_base64" <> '';--> statement-breakpoint
CREATE INDEX "channel_statement_lines_reference_idx" ON "channel_statement_lines" USING btree ("reference","statement_id");--> statement-breakpoint
ALTER TABLE "channel_statements" DROP COLUMN "raw_base64";--> statement-breakpoint
ALTER TABLE "channel_statements" DROP COLUMN "lines";