CREATE TABLE "deployment" (
	"id" integer PRIMARY KEY DEFAULT 1 NOT NULL,
	"mode" text NOT NULL,
	"claimed_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "deployment_single_row" CHECK ("deployment"."id" = 1)
);
--> statement-breakpoint
-- A database in use before modes existed holds the demo's test data: it stays a test database.
INSERT INTO "deployment" ("id", "mode")
SELECT 1, 'test' WHERE EXISTS (SELECT 1 FROM "merchants") OR EXISTS (SELECT 1 FROM "pay_orders");
