// The queryable record of paycenter. Uniqueness that guards money lives here, not only in code.
import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  char,
  index,
  integer,
  jsonb,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';

const money = (name: string) => bigint(name, { mode: 'number' });
const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();
const updatedAt = () => timestamp('updated_at', { withTimezone: true }).notNull().defaultNow();

export const merchants = pgTable('merchants', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  /** Secret for signing the notifications we send to this merchant. */
  notifySecret: text('notify_secret').notNull(),
  createdAt: createdAt(),
});

export const merchantApiKeys = pgTable(
  'merchant_api_keys',
  {
    id: text('id').primaryKey(),
    merchantId: text('merchant_id')
      .notNull()
      .references(() => merchants.id),
    /** SHA-256 of the key; the key itself is shown once and never stored. */
    keyHash: text('key_hash').notNull(),
    keyPrefix: text('key_prefix').notNull(),
    createdAt: createdAt(),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
  },
  (t) => [uniqueIndex('merchant_api_keys_hash_uq').on(t.keyHash)],
);

export const payOrders = pgTable(
  'pay_orders',
  {
    id: text('id').primaryKey(),
    merchantId: text('merchant_id')
      .notNull()
      .references(() => merchants.id),
    merchantOrderNo: text('merchant_order_no').notNull(),
    amount: money('amount').notNull(),
    currency: char('currency', { length: 3 }).notNull(),
    subject: text('subject').notNull(),
    status: text('status').notNull().default('CREATED'),
    needsAttention: boolean('needs_attention').notNull().default(false),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    notifyUrl: text('notify_url'),
    returnUrl: text('return_url'),
    /** Set once the workflow is known to exist, so a retention-expired run is never started again. */
    workflowStarted: boolean('workflow_started').notNull().default(false),
    /** The workflow's write counter: a retried, older write never overwrites a newer one. */
    version: integer('version').notNull().default(0),
    paidAttemptId: text('paid_attempt_id'),
    paidAt: timestamp('paid_at', { withTimezone: true }),
    closedAt: timestamp('closed_at', { withTimezone: true }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('pay_orders_merchant_order_uq').on(t.merchantId, t.merchantOrderNo),
    index('pay_orders_needs_attention_idx')
      .on(t.needsAttention)
      .where(sql`${t.needsAttention}`),
  ],
);

export const channelAttempts = pgTable(
  'channel_attempts',
  {
    id: text('id').primaryKey(),
    payOrderId: text('pay_order_id')
      .notNull()
      .references(() => payOrders.id),
    channel: text('channel').notNull(),
    method: text('method').notNull(),
    outTradeNo: text('out_trade_no').notNull(),
    amount: money('amount').notNull(),
    currency: char('currency', { length: 3 }).notNull(),
    status: text('status').notNull(),
    payUrl: text('pay_url'),
    channelTradeNo: text('channel_trade_no'),
    paidAt: timestamp('paid_at', { withTimezone: true }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('channel_attempts_out_trade_no_uq').on(t.channel, t.outTradeNo),
    index('channel_attempts_pay_order_idx').on(t.payOrderId),
  ],
);

/** The raw inbox: every verified channel notification is stored before it is acknowledged. */
export const channelNotifications = pgTable(
  'channel_notifications',
  {
    id: text('id').primaryKey(),
    channel: text('channel').notNull(),
    dedupeKey: text('dedupe_key').notNull(),
    outTradeNo: text('out_trade_no').notNull(),
    payOrderId: text('pay_order_id'),
    headers: jsonb('headers').notNull(),
    rawBody: text('raw_body').notNull(),
    /** RECEIVED, then DELIVERED (signalled to the workflow) or UNMATCHED. */
    status: text('status').notNull().default('RECEIVED'),
    deliveries: integer('deliveries').notNull().default(0),
    receivedAt: timestamp('received_at', { withTimezone: true }).notNull().defaultNow(),
    processedAt: timestamp('processed_at', { withTimezone: true }),
  },
  (t) => [uniqueIndex('channel_notifications_dedupe_uq').on(t.channel, t.dedupeKey)],
);

export const refunds = pgTable(
  'refunds',
  {
    id: text('id').primaryKey(),
    payOrderId: text('pay_order_id')
      .notNull()
      .references(() => payOrders.id),
    merchantId: text('merchant_id')
      .notNull()
      .references(() => merchants.id),
    attemptId: text('attempt_id')
      .notNull()
      .references(() => channelAttempts.id),
    /** Null for compensating refunds paycenter starts by itself. */
    merchantRefundNo: text('merchant_refund_no'),
    amount: money('amount').notNull(),
    currency: char('currency', { length: 3 }).notNull(),
    /** LATE_PAYMENT, DUPLICATE_PAYMENT (compensating) or MERCHANT_REQUEST. */
    reason: text('reason').notNull(),
    /** The merchant's own words for a MERCHANT_REQUEST refund. */
    note: text('note'),
    status: text('status').notNull(),
    channelRefundNo: text('channel_refund_no'),
    /** Set once a merchant refund's workflow is known to exist (compensating refunds have none). */
    workflowStarted: boolean('workflow_started').notNull().default(false),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('refunds_merchant_refund_no_uq').on(t.merchantId, t.merchantRefundNo),
    index('refunds_pay_order_idx').on(t.payOrderId),
  ],
);

/** One row per event we owe a merchant; the event ID is stable across redeliveries. */
export const merchantNotifications = pgTable(
  'merchant_notifications',
  {
    eventId: text('event_id').primaryKey(),
    merchantId: text('merchant_id')
      .notNull()
      .references(() => merchants.id),
    payOrderId: text('pay_order_id').notNull(),
    type: text('type').notNull(),
    url: text('url').notNull(),
    payload: jsonb('payload').notNull(),
    status: text('status').notNull().default('PENDING'),
    createdAt: createdAt(),
    deliveredAt: timestamp('delivered_at', { withTimezone: true }),
  },
  (t) => [index('merchant_notifications_pay_order_idx').on(t.payOrderId)],
);

/** Every POST we made to a merchant's notify URL, with what came back. */
export const merchantNotificationDeliveries = pgTable(
  'merchant_notification_deliveries',
  {
    id: text('id').primaryKey(),
    eventId: text('event_id')
      .notNull()
      .references(() => merchantNotifications.eventId),
    attemptNo: integer('attempt_no').notNull(),
    responseStatus: integer('response_status'),
    error: text('error'),
    attemptedAt: timestamp('attempted_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('merchant_notification_deliveries_attempt_uq').on(t.eventId, t.attemptNo)],
);

/**
 * One row per merchant `Idempotency-Key` on a POST of the merchant API: claimed (IN_PROGRESS)
 * before the handler runs, then COMPLETED with the answer that is replayed for the same request.
 */
export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    merchantId: text('merchant_id')
      .notNull()
      .references(() => merchants.id),
    key: text('key').notNull(),
    method: text('method').notNull(),
    path: text('path').notNull(),
    /** SHA-256 (hex) of the raw request body. */
    requestHash: text('request_hash').notNull(),
    /** IN_PROGRESS while the first request runs, then COMPLETED. */
    status: text('status').notNull(),
    responseStatus: integer('response_status'),
    responseContentType: text('response_content_type'),
    /** The answer's body exactly as it was sent. */
    responseBody: text('response_body'),
    createdAt: createdAt(),
    completedAt: timestamp('completed_at', { withTimezone: true }),
  },
  (t) => [uniqueIndex('idempotency_keys_merchant_key_uq').on(t.merchantId, t.key)],
);
