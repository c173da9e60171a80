// The queryable record of paycenter. Uniqueness that guards money lives here, not only in code.
import { and, eq, sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  boolean,
  char,
  check,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';

const money = (name: string) => bigint(name, { mode: 'number' });
const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();
const updatedAt = () => timestamp('updated_at', { withTimezone: true }).notNull().defaultNow();

/**
 * The mode this database belongs to, claimed by the first paycenter process that runs on it: a
 * live process never runs on a test database, nor a test process on a live one.
 */
export const deployment = pgTable(
  'deployment',
  {
    id: integer('id').primaryKey().default(1),
    mode: text('mode').notNull(),
    claimedAt: timestamp('claimed_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [check('deployment_single_row', sql`${t.id} = 1`)],
);

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
    /** While flagged: why, as a short code (AttentionReason) and in words; null otherwise. */
    attentionCode: text('attention_code'),
    attentionReason: text('attention_reason'),
    /** When the flag was raised; null while the order is not flagged (or was before 0012). */
    flaggedAt: timestamp('flagged_at', { withTimezone: true }),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    notifyUrl: text('notify_url'),
    returnUrl: text('return_url'),
    /** Set once the workflow is known to exist, so a retention-expired run is never started again. */
    workflowStarted: boolean('workflow_started').notNull().default(false),
    /** The workflow's write counter: a retried, older write never overwrites a newer one. */
    version: integer('version').notNull().default(0),
    /**
     * The workflow time of the task that made the last write (since payment-shape-6; null
     * before): a write from a workflow task that was never committed is overwritten by the
     * committed task's write, whatever their versions (savePayOrderVersion).
     */
    savedInTaskAt: timestamp('saved_in_task_at', { withTimezone: true }),
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
    // The exception queue: flagged orders, newest flag first (a row a worker older than 0012
    // flagged has no flagged_at: its last change stands for it), a page at a time.
    index('pay_orders_flagged_idx')
      .on(sql`coalesce(${t.flaggedAt}, ${t.updatedAt})`, t.id)
      .where(sql`${t.needsAttention}`),
    // The money-invariant scan reads orders by when their books last changed.
    index('pay_orders_updated_idx').on(t.updatedAt),
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
    /** What the payer paid when it is not `amount` (status AMOUNT_MISMATCH). */
    paidAmount: money('paid_amount'),
    paidAt: timestamp('paid_at', { withTimezone: true }),
    /** The workflow's save that last wrote this row: an older write never overwrites it. */
    version: integer('version').notNull().default(0),
    /** The workflow time of the task that made that save, as on pay_orders. */
    savedInTaskAt: timestamp('saved_in_task_at', { withTimezone: true }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('channel_attempts_out_trade_no_uq').on(t.channel, t.outTradeNo),
    index('channel_attempts_pay_order_idx').on(t.payOrderId),
    index('channel_attempts_updated_idx').on(t.updatedAt),
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
    /** The verified notification as a channel fact, for handing it over again after a failure. */
    fact: jsonb('fact'),
    /**
     * RECEIVED (stored and acknowledged), then DELIVERED (signalled to the workflow) or
     * AFTER_COMPLETION (its workflow had ended); UNMATCHED when no channel order of ours has it;
     * ALREADY_PAID when its channel order was paid already, NOTHING_NEW when the books show it
     * cannot change the order (both acknowledged without a hand-over; see InboxStatus).
     */
    status: text('status').notNull().default('RECEIVED'),
    deliveries: integer('deliveries').notNull().default(0),
    receivedAt: timestamp('received_at', { withTimezone: true }).notNull().defaultNow(),
    processedAt: timestamp('processed_at', { withTimezone: true }),
    /**
     * Until when one API process's sweep holds a RECEIVED notification it took for hand-over: the
     * other processes' sweeps pass it by until then (null: never taken by a sweep).
     */
    sweptUntil: timestamp('swept_until', { withTimezone: true }),
  },
  (t) => [
    uniqueIndex('channel_notifications_dedupe_uq').on(t.channel, t.dedupeKey),
    // Whether a channel order was ever notified (a success found by query went unheard).
    index('channel_notifications_out_trade_no_idx').on(t.channel, t.outTradeNo),
    index('channel_notifications_received_idx')
      .on(t.receivedAt)
      .where(sql`${t.status} = 'RECEIVED'`),
  ],
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
    index('refunds_updated_idx').on(t.updatedAt),
    // The merchant's refund list, newest first (GET /v1/refunds).
    index('refunds_merchant_created_idx').on(t.merchantId, t.createdAt, t.id),
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
  (t) => [
    index('merchant_notifications_pay_order_idx').on(t.payOrderId),
    // The merchant's event list, newest first (GET /v1/events).
    index('merchant_notifications_merchant_created_idx').on(t.merchantId, t.createdAt, t.eventId),
  ],
);

/**
 * Every POST we made to a merchant's notify URL, with what came back: the tries of the event's
 * schedule (`attempt_no`, once each) and the redeliveries asked for later (no `attempt_no`; the
 * row's ID is the redelivery's, so each is recorded once).
 */
export const merchantNotificationDeliveries = pgTable(
  'merchant_notification_deliveries',
  {
    id: text('id').primaryKey(),
    eventId: text('event_id')
      .notNull()
      .references(() => merchantNotifications.eventId),
    /** The try's number in the event's schedule; null for a redelivery. */
    attemptNo: integer('attempt_no'),
    /** SCHEDULE (the event's own tries) or REDELIVERY (asked for by the merchant or an operator). */
    trigger: text('trigger').notNull().default('SCHEDULE'),
    responseStatus: integer('response_status'),
    error: text('error'),
    /** From the request's start to the answer's end (or the failure); null for tries before it was kept. */
    durationMs: integer('duration_ms'),
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

/** A channel's statement of one day as it was fetched: the raw file and its parsed lines. */
/**
 * A channel's statement of one day as fetched. Its lines and its file are rows of their own
 * (below), written as the download streams in; `sha256` is set once the whole file is in, so a
 * statement without one is a download under way (or one that died, removed by the next fetch).
 */
export const channelStatements = pgTable(
  'channel_statements',
  {
    id: text('id').primaryKey(),
    channel: text('channel').notNull(),
    /** yyyy-MM-dd in the channel's time zone. */
    day: text('day').notNull(),
    /** SHA-256 (hex) of the raw file: a statement fetched again unchanged is stored once. */
    sha256: text('sha256'),
    fetchedAt: timestamp('fetched_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('channel_statements_day_sha_uq').on(t.channel, t.day, t.sha256)],
);

/** One line of a stored statement (a StatementEntry), in the file's order. */
export const channelStatementLines = pgTable(
  'channel_statement_lines',
  {
    statementId: text('statement_id')
      .notNull()
      .references(() => channelStatements.id, { onDelete: 'cascade' }),
    /** 1 for the first line. */
    n: integer('n').notNull(),
    /** PAYMENT or REFUND. */
    kind: text('kind').notNull(),
    outTradeNo: text('out_trade_no').notNull(),
    channelTradeNo: text('channel_trade_no').notNull(),
    amount: money('amount').notNull(),
    currency: text('currency').notNull(),
    refundNo: text('refund_no'),
    /** ISO 8601 instant, as parsed. */
    at: text('at').notNull(),
    /** What the line books: the refund no of a refund line that has one, else the out_trade_no. */
    reference: text('reference').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.statementId, t.n] }),
    index('channel_statement_lines_reference_idx').on(t.reference, t.statementId),
  ],
);

/** The statement file exactly as the channel served it, base64, in pieces of about 1 MiB. */
export const channelStatementChunks = pgTable(
  'channel_statement_chunks',
  {
    statementId: text('statement_id')
      .notNull()
      .references(() => channelStatements.id, { onDelete: 'cascade' }),
    n: integer('n').notNull(),
    rawBase64: text('raw_base64').notNull(),
  },
  (t) => [primaryKey({ columns: [t.statementId, t.n] })],
);

/** One reconciliation of one channel's day; a rerun replaces its report. */
export const reconciliations = pgTable(
  'reconciliations',
  {
    channel: text('channel').notNull(),
    day: text('day').notNull(),
    /** RUNNING, then COMPLETED or FAILED. */
    status: text('status').notNull(),
    statementId: text('statement_id').references(() => channelStatements.id),
    runs: integer('runs').notNull().default(1),
    report: jsonb('report'),
    startedAt: timestamp('started_at', { withTimezone: true }).notNull().defaultNow(),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
  },
  (t) => [uniqueIndex('reconciliations_channel_day_uq').on(t.channel, t.day)],
);

/**
 * One difference between a channel's statement and our books, with its evidence and what became
 * of it. A rerun of the day finds the same row again (unique by kind and reference), never a copy.
 */
export const reconciliationDifferences = pgTable(
  'reconciliation_differences',
  {
    id: text('id').primaryKey(),
    channel: text('channel').notNull(),
    day: text('day').notNull(),
    kind: text('kind').notNull(),
    /** The out_trade_no, or the refund no for refund differences. */
    reference: text('reference').notNull(),
    payOrderId: text('pay_order_id'),
    attemptId: text('attempt_id'),
    refundId: text('refund_id'),
    currency: char('currency', { length: 3 }),
    channelAmount: money('channel_amount'),
    bookAmount: money('book_amount'),
    /** The statement line and our record as they were when the difference was found. */
    evidence: jsonb('evidence').notNull(),
    /** CORRECTING (handed to a workflow), CORRECTED (confirmed by a later run), OPS, RESOLVED. */
    resolution: text('resolution').notNull(),
    /** What paycenter did, or what an operator has to decide. */
    action: text('action').notNull(),
    urgent: boolean('urgent').notNull().default(false),
    /** An operator's words when resolving it. */
    note: text('note'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    resolvedAt: timestamp('resolved_at', { withTimezone: true }),
  },
  (t) => [
    uniqueIndex('reconciliation_differences_uq').on(t.channel, t.day, t.kind, t.reference),
    index('reconciliation_differences_open_idx')
      .on(t.resolution)
      .where(sql`${t.resolution} in ('OPS', 'CORRECTING')`),
  ],
);

/** The differences of one channel's day (for the worker's reconciliation and the ops API). */
export function differencesOfDay(channel: string, day: string) {
  return and(
    eq(reconciliationDifferences.channel, channel),
    eq(reconciliationDifferences.day, day),
  );
}

/** What a safety-net scan found about one subject, and what it did; repeats are counted, not acted on. */
export const safetyNetFindings = pgTable(
  'safety_net_findings',
  {
    id: text('id').primaryKey(),
    /** Which scan found it. */
    check: text('check').notNull(),
    /** The pay order, refund or merchant event it is about. */
    subject: text('subject').notNull(),
    payOrderId: text('pay_order_id'),
    /** What the scan did: a workflow it started or signalled, or FLAGGED for an operator. */
    action: text('action').notNull(),
    detail: jsonb('detail').notNull(),
    timesSeen: integer('times_seen').notNull().default(1),
    firstSeenAt: timestamp('first_seen_at', { withTimezone: true }).notNull().defaultNow(),
    lastSeenAt: timestamp('last_seen_at', { withTimezone: true }).notNull().defaultNow(),
    /** Set when a later scan no longer finds it. */
    clearedAt: timestamp('cleared_at', { withTimezone: true }),
  },
  (t) => [
    uniqueIndex('safety_net_findings_check_subject_uq').on(t.check, t.subject),
    // The money-invariant scan leaves orders with another check's open finding to that check.
    index('safety_net_findings_pay_order_idx').on(t.payOrderId),
  ],
);

/** Operators' named ops keys; the configured PAYCENTER_OPS_API_KEY is the built-in operator `ops`. */
export const operatorKeys = pgTable(
  'operator_keys',
  {
    id: text('id').primaryKey(),
    /** Who acts with the key; what the audit log records. */
    name: text('name').notNull(),
    /** SHA-256 of the key; the key itself is shown once and never stored. */
    keyHash: text('key_hash').notNull(),
    keyPrefix: text('key_prefix').notNull(),
    createdAt: createdAt(),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
  },
  (t) => [uniqueIndex('operator_keys_hash_uq').on(t.keyHash)],
);

/** Who did what to which subject, when, with the state before and after. Rows are only inserted. */
export const auditLog = pgTable(
  'audit_log',
  {
    /** Increases with every row: the order of the log and the cursor of its listing. */
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
    operator: text('operator').notNull(),
    action: text('action').notNull(),
    subjectType: text('subject_type').notNull(),
    subjectId: text('subject_id').notNull(),
    before: jsonb('before'),
    after: jsonb('after'),
    note: text('note'),
  },
  (t) => [
    index('audit_log_operator_idx').on(t.operator, t.id),
    index('audit_log_action_idx').on(t.action, t.id),
    index('audit_log_subject_idx').on(t.subjectType, t.subjectId, t.id),
  ],
);

/**
 * Operators' signed-in sessions of the ops console. The cookie holds the session's token; only its
 * hash is stored, with the hash of the ops key that signed in (a revoked key ends its sessions).
 */
export const opsConsoleSessions = pgTable(
  'ops_console_sessions',
  {
    tokenHash: text('token_hash').primaryKey(),
    operator: text('operator').notNull(),
    /** SHA-256 of the ops key the operator signed in with. */
    keyHash: text('key_hash').notNull(),
    /** Every form of the session carries it; a POST without it is refused (CSRF). */
    csrfToken: text('csrf_token').notNull(),
    createdAt: createdAt(),
    lastSeenAt: timestamp('last_seen_at', { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    endedAt: timestamp('ended_at', { withTimezone: true }),
  },
  (t) => [index('ops_console_sessions_expires_idx').on(t.expiresAt)],
);
