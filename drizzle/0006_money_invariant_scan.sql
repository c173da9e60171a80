CREATE INDEX "channel_attempts_updated_idx" ON "channel_attempts" USING btree ("updated_at");--> statement-breakpoint
CREATE INDEX "pay_orders_updated_idx" ON "pay_orders" USING btree ("updated_at");--> statement-breakpoint
CREATE INDEX "refunds_updated_idx" ON "refunds" USING btree ("updated_at");--> statement-breakpoint
CREATE INDEX "safety_net_findings_pay_order_idx" ON "safety_net_findings" USING btree ("pay_order_id");