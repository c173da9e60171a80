// Issue 16, metrics: the API's /metrics and a worker's (WORKER_METRICS_PORT) in Prometheus' text
// format, each counting what happened in its own process: a sandbox payment moves the API's
// created counter and webhook latency and the worker's settled counter and payment latency; a
// forged or unmatched notification is counted as refused; a payment after the close counts the
// order CLOSED and its refund as a late payment made harmless, a lost notification found by the
// workflow's query as another; and the worker's scrape carries the Temporal SDK's own metrics.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { signedHeaders } from '../../src/channels/sandbox/protocol';
import { freePort } from '../support/ports';
import { sampleValue, samplesOf, scrape } from '../support/prometheus';
import { eventually, startTestSystem, type TestSystem } from '../support/system';
import {
  paidOrder,
  payerPays,
  payingOrder,
  reached,
  sandboxSuccess,
  unique,
} from '../support/payments';

let system: TestSystem;
let workerMetricsUrl: string;
before(async () => {
  const port = await freePort();
  workerMetricsUrl = `http://127.0.0.1:${port}/metrics`;
  system = await startTestSystem({
    // Short queries, so that a dropped notification is found by query within the test.
    env: { WORKER_METRICS_PORT: String(port), QUERY_SCHEDULE_SECONDS: '1' },
  });
});
after(async () => {
  await system?.stop();
});
beforeEach(async () => {
  await system.simulator('DELETE', '/control/faults');
});

const apiMetrics = () => scrape(`${system.apiUrl}/metrics`);
const workerMetrics = () => scrape(workerMetricsUrl);

/** A counter's growth while `act` runs, read again until it has grown by at least `by`. */
async function growthOf(
  read: () => Promise<string>,
  name: string,
  labels: Record<string, string>,
  by: number,
  act: () => Promise<unknown>,
): Promise<number> {
  const before = sampleValue(await read(), name, labels);
  await act();
  return eventually(
    async () => {
      const grown = sampleValue(await read(), name, labels) - before;
      return grown >= by && grown;
    },
    { what: `${name} ${JSON.stringify(labels)} to grow by ${by}` },
  );
}

describe('metrics', () => {
  it('issue 16: a sandbox payment moves the API’s and the worker’s counters', async () => {
    const [api0, worker0] = [await apiMetrics(), await workerMetrics()];
    const created = { currency: 'CNY' };
    const acked = { channel: 'sandbox', verdict: 'accepted' };
    const settled = { status: 'SUCCEEDED', channel: 'sandbox' };

    await paidOrder(system, { prefix: 'metrics', amount: 1_234, subject: 'Dumplings' });

    const api1 = await apiMetrics();
    assert.equal(
      sampleValue(api1, 'paycenter_pay_orders_created_total', created) -
        sampleValue(api0, 'paycenter_pay_orders_created_total', created),
      1,
    );
    assert.ok(
      sampleValue(api1, 'paycenter_webhook_ack_seconds_count', acked) >
        sampleValue(api0, 'paycenter_webhook_ack_seconds_count', acked),
      'the sandbox’s notification was answered and timed',
    );
    // The save that wrote SUCCEEDED counts it as its transaction commits.
    const worker1 = await eventually(async () => {
      const text = await workerMetrics();
      const counted = sampleValue(text, 'paycenter_pay_orders_settled_total', settled);
      return counted > sampleValue(worker0, 'paycenter_pay_orders_settled_total', settled) && text;
    });
    assert.equal(
      sampleValue(worker1, 'paycenter_pay_orders_settled_total', settled) -
        sampleValue(worker0, 'paycenter_pay_orders_settled_total', settled),
      1,
    );
    const paidIn = { channel: 'sandbox' };
    assert.equal(
      sampleValue(worker1, 'paycenter_payment_seconds_count', paidIn) -
        sampleValue(worker0, 'paycenter_payment_seconds_count', paidIn),
      1,
    );
    // A payment paid at once takes less than a minute from creation.
    assert.ok(
      sampleValue(worker1, 'paycenter_payment_seconds_bucket', { ...paidIn, le: '60' }) >
        sampleValue(worker0, 'paycenter_payment_seconds_bucket', { ...paidIn, le: '60' }),
    );
    // Each process counts only its own events: the API saw no settlement, the worker no webhook.
    assert.equal(sampleValue(api1, 'paycenter_pay_orders_settled_total'), 0);
    assert.equal(sampleValue(worker1, 'paycenter_webhook_ack_seconds_count'), 0);
    // The gauge is read from the books at each scrape.
    assert.ok(samplesOf(api1).some((s) => s.name === 'paycenter_pay_orders_needing_attention'));
  });

  it('issue 16: the worker’s /metrics carries the Temporal SDK’s metrics after its own', async () => {
    const text = await workerMetrics();
    const names = new Set(samplesOf(text).map((s) => s.name));
    assert.ok(
      [...names].some((name) => name.startsWith('temporal_')),
      'the SDK exporter’s temporal_* metrics are merged in',
    );
    assert.ok(names.has('paycenter_pay_orders_settled_total'));
    assert.ok(names.has('process_cpu_user_seconds_total'), 'the process’s own metrics');
    assert.doesNotMatch(text, /Temporal SDK metrics unavailable/);
    // Nothing but /metrics is served there.
    assert.equal((await fetch(workerMetricsUrl.replace('/metrics', '/'))).status, 404);
  });

  it('issue 16: forged, malformed and unmatched notifications are counted as refused', async () => {
    const { SANDBOX_APP_ID, SANDBOX_SECRET } = system.config;
    const post = (body: string, secret: string) =>
      fetch(`${system.apiUrl}/webhooks/sandbox`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...signedHeaders(SANDBOX_APP_ID, secret, body, Date.now()),
        },
        body,
      });
    const success = () =>
      sandboxSuccess({
        notifyId: unique('ntf'),
        outTradeNo: unique('nobody'),
        tradeNo: unique('trade'),
        amount: 100,
      });

    const forged = await growthOf(
      apiMetrics,
      'paycenter_notifications_rejected_total',
      { channel: 'sandbox', reason: 'forged' },
      1,
      async () => assert.equal((await post(success(), 'not-the-sandbox-secret!')).status, 401),
    );
    assert.equal(forged, 1);
    const malformed = await growthOf(
      apiMetrics,
      'paycenter_notifications_rejected_total',
      { channel: 'sandbox', reason: 'malformed' },
      1,
      async () => assert.equal((await post('not json', SANDBOX_SECRET)).status, 400),
    );
    assert.equal(malformed, 1);
    const unmatched = await growthOf(
      apiMetrics,
      'paycenter_notifications_rejected_total',
      { channel: 'sandbox', reason: 'unmatched' },
      1,
      async () => assert.equal((await post(success(), SANDBOX_SECRET)).status, 500),
    );
    assert.equal(unmatched, 1);
  });

  it('issue 16: a payment after the close counts the order closed and its late payment refunded', async () => {
    const worker0 = await workerMetrics();
    const closed = { status: 'CLOSED', channel: 'sandbox' };
    const refunded = { status: 'SUCCEEDED', reason: 'LATE_PAYMENT' };
    const late = { kind: 'late_payment_refunded' };
    const { id, outTradeNo } = await payingOrder(system, {
      prefix: 'metrics-late',
      amount: 8_800,
      subject: 'Concert ticket',
    });
    assert.equal((await system.api('POST', `/v1/pay-orders/${id}/close`)).body.status, 'CLOSED');
    await payerPays(system, outTradeNo);
    await eventually(async () => {
      const order = await system.payOrder(id);
      return order.refunds.length === 1 && order.refunds[0].status === 'SUCCEEDED';
    });
    const worker1 = await eventually(async () => {
      const text = await workerMetrics();
      const grown = sampleValue(text, 'paycenter_anomalies_harmless_total', late);
      return grown > sampleValue(worker0, 'paycenter_anomalies_harmless_total', late) && text;
    });
    const growth = (name: string, labels: Record<string, string>) =>
      sampleValue(worker1, name, labels) - sampleValue(worker0, name, labels);
    assert.equal(growth('paycenter_anomalies_harmless_total', late), 1);
    assert.equal(growth('paycenter_refunds_settled_total', refunded), 1);
    assert.equal(growth('paycenter_pay_orders_settled_total', closed), 1);
    // Closed, not paid: no payment time was observed for it.
    assert.equal(growth('paycenter_payment_seconds_count', { channel: 'sandbox' }), 0);
  });

  it('issue 16: a payment whose notification is lost counts as found by query', async () => {
    await system.simulator('POST', '/control/faults', { dropNotifications: true });
    const found = await growthOf(
      workerMetrics,
      'paycenter_anomalies_harmless_total',
      { kind: 'lost_notification_found_by_query' },
      1,
      async () => {
        const { id, outTradeNo } = await payingOrder(system, {
          prefix: 'metrics-lost',
          amount: 4_200,
          subject: 'Noodles',
        });
        await payerPays(system, outTradeNo);
        await reached(system, id, 'SUCCEEDED');
      },
    );
    assert.equal(found, 1);
  });
});
