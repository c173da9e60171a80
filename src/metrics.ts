// paycenter's business metrics (prom-client), one registry per part: the API counts what happens
// in its requests, a worker what its activities do, each where the event really happens, so a
// metric moves once per event whichever process saw it. Workflow code never counts (it replays).
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ExtraPaymentReason } from './domain/payOrder';

/** Low-cardinality labels only: channels, statuses, kinds; never IDs, merchants or amounts. */
const prefix = 'paycenter_';

/** A payment takes seconds (the payer at a QR code) to hours (found by a query or a statement). */
const paymentSecondsBuckets = [5, 15, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 24 * 3600];

/** A channel waits for our answer; ours is a verified insert, so milliseconds are the story. */
const webhookAckSecondsBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * Anomalies paycenter made harmless. `*_refunded`: a compensating refund of money the order did
 * not need succeeded; `lost_notification_found_by_query`: the payment workflow's query learned of a
 * success no notification had brought; `found_by_reconciliation`: a statement's payment our books
 * missed was handed to its workflow.
 */
export const anomalyKinds = [
  'duplicate_payment_refunded',
  'late_payment_refunded',
  'amount_mismatch_refunded',
  'lost_notification_found_by_query',
  'found_by_reconciliation',
] as const;
export type AnomalyKind = (typeof anomalyKinds)[number];

/** The anomaly a succeeded refund made harmless; none for a refund the merchant asked for. */
export function refundedAnomaly(
  reason: ExtraPaymentReason | 'MERCHANT_REQUEST',
): AnomalyKind | undefined {
  switch (reason) {
    case 'DUPLICATE_PAYMENT':
      return 'duplicate_payment_refunded';
    case 'LATE_PAYMENT':
      return 'late_payment_refunded';
    case 'AMOUNT_MISMATCH':
      return 'amount_mismatch_refunded';
    case 'MERCHANT_REQUEST':
      return undefined;
  }
}

/** Why the API refused a channel's notification (the channel retries every one of them). */
export type NotificationRejection = 'forged' | 'unmatched' | 'unknown_channel';

function registryWithProcessMetrics(part: 'api' | 'worker'): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ part });
  collectDefaultMetrics({ register: registry });
  return registry;
}

/** The API's metrics: pay orders created, channel notifications answered and refused, the flags. */
export function createApiMetrics(options: {
  /** How many pay orders wait for an operator, read at each scrape (undefined: unknown now). */
  payOrdersNeedingAttention: () => Promise<number | undefined>;
  /** Pay, sync and close requests queued for their pay order's turn in this process now. */
  payOrderRequestsWaiting: () => number;
}) {
  const registry = registryWithProcessMetrics('api');
  const registers = [registry];
  return {
    registry,
    payOrdersCreated: new Counter({
      name: `${prefix}pay_orders_created_total`,
      help: 'Pay orders created by merchants (a repeated merchantOrderNo is not counted again)',
      labelNames: ['currency'] as const,
      registers,
    }),
    webhookAckSeconds: new Histogram({
      name: `${prefix}webhook_ack_seconds`,
      help: "Time from a channel's notification arriving to our answer, by channel and verdict",
      labelNames: ['channel', 'verdict'] as const,
      buckets: webhookAckSecondsBuckets,
      registers,
    }),
    notificationsRejected: new Counter({
      name: `${prefix}notifications_rejected_total`,
      help: 'Channel notifications refused: forged (verification failed), malformed (signed but unreadable or unstorable), unmatched (no channel order of ours), unknown_channel',
      labelNames: ['channel', 'reason'] as const,
      registers,
    }),
    payOrdersNeedingAttention: new Gauge({
      name: `${prefix}pay_orders_needing_attention`,
      help: 'Pay orders flagged NeedsAttention now (read from the database at scrape time)',
      registers,
      async collect() {
        const count = await options.payOrdersNeedingAttention();
        // An unreadable count is NaN (unknown) rather than 0, which would say "nothing needs anyone".
        this.set(count ?? Number.NaN);
      },
    }),
    payOrderRequestsWaiting: new Gauge({
      name: `${prefix}pay_order_requests_waiting`,
      help: 'Pay, sync and close requests queued behind other requests of the same pay order in this API process (UPDATES_PER_PAY_ORDER at a time go to its workflow)',
      registers,
      collect() {
        this.set(options.payOrderRequestsWaiting());
      },
    }),
  };
}

export type ApiMetrics = ReturnType<typeof createApiMetrics>;

/** A worker's metrics: what its activities saw settle, refund, deliver, reconcile and find. */
export function createWorkerMetrics() {
  const registry = registryWithProcessMetrics('worker');
  const registers = [registry];
  const metrics = {
    registry,
    payOrdersSettled: new Counter({
      name: `${prefix}pay_orders_settled_total`,
      help: 'Pay orders that reached a final status (SUCCEEDED, CLOSED), by the channel that paid or last took the order',
      labelNames: ['status', 'channel'] as const,
      registers,
    }),
    paymentSeconds: new Histogram({
      name: `${prefix}payment_seconds`,
      help: 'Time from a pay order created to its payment recorded (SUCCEEDED), by channel',
      labelNames: ['channel'] as const,
      buckets: paymentSecondsBuckets,
      registers,
    }),
    anomaliesHarmless: new Counter({
      name: `${prefix}anomalies_harmless_total`,
      help: `Anomalies made harmless, by kind: ${anomalyKinds.join(', ')}`,
      labelNames: ['kind'] as const,
      registers,
    }),
    refundsSettled: new Counter({
      name: `${prefix}refunds_settled_total`,
      help: 'Refunds that reached a final status (SUCCEEDED, FAILED), by reason (MERCHANT_REQUEST or the anomaly refunded)',
      labelNames: ['status', 'reason'] as const,
      registers,
    }),
    merchantDeliveries: new Counter({
      name: `${prefix}merchant_notification_deliveries_total`,
      help: 'Tries to deliver a merchant notification, by outcome (DELIVERED, or why not: HTTP_5XX, TIMEOUT, ...)',
      labelNames: ['outcome'] as const,
      registers,
    }),
    merchantNotificationsGivenUp: new Counter({
      name: `${prefix}merchant_notifications_given_up_total`,
      help: 'Merchant notifications whose retry schedule ran out undelivered (an operator must reach the merchant)',
      registers,
    }),
    reconciliationDifferences: new Counter({
      name: `${prefix}reconciliation_differences_total`,
      help: 'Differences found by reconciliation runs (each run counts what it finds), by channel, class and resolution',
      labelNames: ['channel', 'kind', 'resolution'] as const,
      registers,
    }),
    safetyNetFindings: new Counter({
      name: `${prefix}safety_net_findings_total`,
      help: 'New safety-net findings acted on, by check and action (corrected through a workflow or flagged)',
      labelNames: ['check', 'action'] as const,
      registers,
    }),
  };
  // Every kind is on the page from the start, so a rate over it is 0 rather than absent.
  for (const kind of anomalyKinds) metrics.anomaliesHarmless.inc({ kind }, 0);
  return metrics;
}

export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;
