// The metrics' plumbing without a running system: the API's /metrics (never rate-limited, the
// NeedsAttention gauge read at scrape time and NaN when unreadable), the worker's server
// merging the Temporal SDK exporter's text, and which refunds count as anomalies made harmless.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import pino from 'pino';
import { buildApi } from '../../src/api/app';
import { createApiMetrics, createWorkerMetrics, refundedAnomaly } from '../../src/metrics';
import { mergedExposition, serveWorkerMetrics } from '../../src/workerMetricsServer';
import { unwiredApiDeps } from '../support/apiDeps';
import { createOrderTurns } from '../../src/services/orderTurns';
import { freePort } from '../support/ports';
import { sampleValue, samplesOf } from '../support/prometheus';

const log = pino({ level: 'silent' });

/** The API with nothing behind it but its metrics; only /metrics and /docs are called. */
function apiWith(
  needingAttention: () => Promise<number | undefined>,
  perMinute: number,
  requestsWaiting: () => number = () => 0,
) {
  const metrics = createApiMetrics({
    payOrdersNeedingAttention: needingAttention,
    payOrderRequestsWaiting: requestsWaiting,
  });
  const app = buildApi(unwiredApiDeps({ log, rateLimitPerMinute: perMinute, metrics }));
  return { app, metrics };
}

describe("the API's /metrics", () => {
  it('issue 16: answers the text format with the flagged orders counted at each scrape', async () => {
    let flagged = 3;
    const { app } = apiWith(async () => flagged, 100);
    const first = await app.inject({ method: 'GET', url: '/metrics' });
    assert.equal(first.statusCode, 200);
    assert.match(first.headers['content-type'] as string, /^text\/plain; version=0\.0\.4/);
    assert.equal(sampleValue(first.body, 'paycenter_pay_orders_needing_attention'), 3);
    flagged = 5;
    const second = await app.inject({ method: 'GET', url: '/metrics' });
    assert.equal(sampleValue(second.body, 'paycenter_pay_orders_needing_attention'), 5);
    // Every sample carries the part that counted it.
    assert.ok(samplesOf(second.body).every((s) => s.labels.part === 'api'));
    await app.close();
  });

  it('issue 16: reports the gauge as unknown (NaN), not 0, when the books cannot be read', async () => {
    const { app } = apiWith(async () => undefined, 100);
    const answer = await app.inject({ method: 'GET', url: '/metrics' });
    assert.equal(answer.statusCode, 200);
    assert.ok(Number.isNaN(sampleValue(answer.body, 'paycenter_pay_orders_needing_attention')));
    await app.close();
  });

  it('counts the requests queued for their pay order’s turn at each scrape', async () => {
    const turns = createOrderTurns(1);
    const { app } = apiWith(
      async () => 0,
      100,
      () => turns.load().waiting,
    );
    let finish!: () => void;
    const held = new Promise<void>((resolve) => (finish = resolve));
    const deadline = Date.now() + 60_000;
    const requests = [
      turns.inTurn('po_1', deadline, () => held),
      turns.inTurn('po_1', deadline, async () => {}),
      turns.inTurn('po_1', deadline, async () => {}),
      turns.inTurn('po_2', deadline, async () => {}),
    ];
    const during = await app.inject({ method: 'GET', url: '/metrics' });
    assert.equal(sampleValue(during.body, 'paycenter_pay_order_requests_waiting'), 2);
    finish();
    await Promise.all(requests);
    const after = await app.inject({ method: 'GET', url: '/metrics' });
    assert.equal(sampleValue(after.body, 'paycenter_pay_order_requests_waiting'), 0);
    await app.close();
  });

  it('issue 16: is never rate-limited, while the same address is for other pages', async () => {
    const { app } = apiWith(async () => 0, 2);
    for (let i = 0; i < 5; i++) {
      assert.equal((await app.inject({ method: 'GET', url: '/metrics' })).statusCode, 200);
    }
    const docs = [];
    for (let i = 0; i < 3; i++)
      docs.push((await app.inject({ method: 'GET', url: '/docs' })).statusCode);
    assert.deepEqual(docs, [200, 200, 429]);
    await app.close();
  });
});

describe("a worker's metrics server", () => {
  const servers: { stop(): Promise<void> }[] = [];
  after(async () => {
    for (const server of servers) await server.stop();
  });

  /** A stand-in for the SDK's Prometheus exporter, answering a fixed exposition. */
  async function fakeSdkExporter(text: string) {
    const server = http.createServer((_req, res) => res.end(text));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push({ stop: () => new Promise((resolve) => server.close(() => resolve())) });
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
  }

  it('issue 16: serves its own counters followed by the SDK exporter’s', async () => {
    const metrics = createWorkerMetrics();
    metrics.payOrdersSettled.inc({ status: 'SUCCEEDED', channel: 'alipay' });
    const sdk =
      '# TYPE temporal_worker_start counter\ntemporal_worker_start{namespace="default"} 1\n';
    const server = await serveWorkerMetrics({
      host: '127.0.0.1',
      port: 0,
      registry: metrics.registry,
      sdkMetricsUrl: await fakeSdkExporter(sdk),
      log,
    });
    servers.push(server);
    const text = await (await fetch(server.url)).text();
    assert.equal(
      sampleValue(text, 'paycenter_pay_orders_settled_total', {
        status: 'SUCCEEDED',
        channel: 'alipay',
      }),
      1,
    );
    assert.equal(sampleValue(text, 'temporal_worker_start'), 1);
    assert.ok(
      text.indexOf('paycenter_pay_orders_settled_total') < text.indexOf('temporal_worker_start'),
    );
    assert.equal((await fetch(server.url.replace('/metrics', '/other'))).status, 404);
  });

  it('issue 16: still answers its own when the SDK exporter does not, saying why', async () => {
    const metrics = createWorkerMetrics();
    const server = await serveWorkerMetrics({
      host: '127.0.0.1',
      port: 0,
      registry: metrics.registry,
      // A port nothing listens on any more.
      sdkMetricsUrl: `http://127.0.0.1:${await freePort()}/metrics`,
      log,
    });
    servers.push(server);
    const answer = await fetch(server.url);
    assert.equal(answer.status, 200);
    const text = await answer.text();
    assert.match(text, /^# Temporal SDK metrics unavailable: the SDK exporter did not answer/m);
    assert.ok(samplesOf(text).some((s) => s.name === 'process_cpu_user_seconds_total'));
  });

  it('issue 16: keeps the two expositions on separate lines', () => {
    assert.equal(mergedExposition('a 1', { text: 'b 2' }), 'a 1\nb 2\n');
    assert.equal(mergedExposition('a 1\n', { text: 'b 2\n' }), 'a 1\nb 2\n');
    assert.equal(
      mergedExposition('a 1\n', { missing: 'off' }),
      'a 1\n# Temporal SDK metrics unavailable: off\n',
    );
  });
});

describe('anomalies made harmless by a refund', () => {
  it('issue 16: refunds of money the order did not need count; a merchant’s own refund does not', () => {
    assert.equal(refundedAnomaly('DUPLICATE_PAYMENT'), 'duplicate_payment_refunded');
    assert.equal(refundedAnomaly('LATE_PAYMENT'), 'late_payment_refunded');
    assert.equal(refundedAnomaly('AMOUNT_MISMATCH'), 'amount_mismatch_refunded');
    assert.equal(refundedAnomaly('MERCHANT_REQUEST'), undefined);
  });
});
