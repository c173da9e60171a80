// Issue 16, traces: with OTEL_EXPORTER_OTLP_ENDPOINT set, a sandbox payment is one trace from the
// merchant's create request through the payment workflow and its activities to the delivery of
// the merchant's notification, exported over OTLP/HTTP (JSON) to a collector that is this test.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { untracedWorkflowSinks } from '../../src/tracing';
import { workflowBundle } from '../../src/workflowBundle';
import { recordMissingHistories } from '../support/history';
import { eventually, startTestSystem, type TestSystem } from '../support/system';
import { payerPays, payingOrder, reached } from '../support/payments';

interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
}

/** One OTLP/HTTP request's spans, each with the service.name of its resource. */
function spansOf(request: any): ReceivedSpan[] {
  return (request.resourceSpans ?? []).flatMap((resourceSpans: any) => {
    const service = (resourceSpans.resource?.attributes ?? []).find(
      (a: any) => a.key === 'service.name',
    )?.value?.stringValue;
    return (resourceSpans.scopeSpans ?? []).flatMap((scope: any) =>
      (scope.spans ?? []).map((span: any) => ({
        service,
        traceId: span.traceId,
        spanId: span.spanId,
        parentSpanId: span.parentSpanId ?? '',
        name: span.name,
        kind: span.kind,
      })),
    );
  });
}

interface Endpoint {
  url: string;
  close(): Promise<void>;
}

/** An HTTP endpoint on a loopback port that answers 200 to every request it is given whole. */
async function serve(
  take: (request: http.IncomingMessage, body: Buffer) => void,
): Promise<Endpoint> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      take(req, Buffer.concat(chunks));
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** What the trace collector (OTLP/HTTP, JSON bodies) was sent, and where. */
const collected = { spans: [] as ReceivedSpan[], paths: new Set<string>() };
/** Notifications the merchant's endpoint was sent. */
let notified = 0;
let collector: Endpoint;
let merchant: Endpoint;
let system: TestSystem;
before(async () => {
  collector = await serve((request, raw) => {
    collected.paths.add(request.url ?? '');
    const body = request.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
    collected.spans.push(...spansOf(JSON.parse(body.toString('utf8'))));
  });
  merchant = await serve(() => notified++);
  system = await startTestSystem({
    env: {
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
      // The payment workflow's span ends, and is sent, when the workflow does.
      LATE_WINDOW_SECONDS: '2',
    },
  });
});
after(async () => {
  await system?.stop();
  await merchant?.close();
  await collector?.close();
});

const serverKind = 2; // OTLP's SPAN_KIND_SERVER

describe('tracing', () => {
  it('issue 16: one trace follows a payment from the create request to the merchant’s notification', async () => {
    const paying = await payingOrder(system, {
      prefix: 'traced',
      amount: 2_500,
      subject: 'Noodles',
      notifyUrl: `${merchant.url}/paid`,
    });
    await payerPays(system, paying.outTradeNo);
    await reached(system, paying.id, 'SUCCEEDED');
    await eventually(async () => notified > 0, { what: 'the merchant to be notified' });

    // The create request's span is the trace's root: every span of the payment hangs under it.
    const create = await eventually(
      async () =>
        collected.spans.find((s) => s.name === 'POST /v1/pay-orders' && s.kind === serverKind),
      { what: 'the create request’s server span' },
    );
    assert.equal(create.service, 'paycenter-api');
    assert.equal(create.parentSpanId, '', 'no caller sent a trace context');
    const wanted = [
      'StartWorkflow:payment',
      'RunWorkflow:payment',
      'RunActivity:recordAndDeliverMerchantEvent',
    ];
    // Batched spans arrive within seconds; the payment workflow's once its late window closed.
    const trace = await eventually(
      async () => {
        const spans = collected.spans.filter((s) => s.traceId === create.traceId);
        const names = new Set(spans.map((s) => s.name));
        return wanted.every((name) => names.has(name)) && spans;
      },
      { timeoutMs: 30_000, what: `the spans ${wanted.join(', ')} in the create request’s trace` },
    );
    const byName = (name: string) => trace.filter((s) => s.name === name);
    const one = (name: string) => {
      const [span, ...others] = byName(name);
      assert.equal(others.length, 0, `one ${name} span`);
      return span!;
    };
    const parentOf = (span: ReceivedSpan) => trace.find((s) => s.spanId === span.parentSpanId);

    const start = one('StartWorkflow:payment');
    assert.equal(start.parentSpanId, create.spanId, 'the workflow is started inside the request');
    const run = one('RunWorkflow:payment');
    assert.equal(run.service, 'paycenter-worker');
    assert.equal(run.parentSpanId, start.spanId);
    const activities = trace.filter(
      (s) => s.name.startsWith('RunActivity:') && parentOf(parentOf(s)!)?.spanId === run.spanId,
    );
    assert.ok(activities.length > 0, 'the payment workflow’s activities are in the trace');
    // The merchant answered the first try, which the payment workflow makes itself.
    const delivery = one('RunActivity:recordAndDeliverMerchantEvent');
    assert.equal(parentOf(delivery)?.parentSpanId, run.spanId);
    assert.equal(byName('RunWorkflow:merchantNotification').length, 0, 'no child was needed');
    assert.deepEqual([...collected.paths], ['/v1/traces']);
  });

  it('issue 16: a traced payment workflow replays without non-determinism', async () => {
    const traced = await payingOrder(system, { prefix: 'replayed', amount: 800, subject: 'Tea' });
    await payerPays(system, traced.outTradeNo);
    await reached(system, traced.id, 'SUCCEEDED');
    await system.workflowCompleted(traced.id);
    const handle = system.temporal.workflow.getHandle(traced.id);
    const history = await handle.fetchHistory();
    // Its start carried the trace context: the workflow ran under the OpenTelemetry interceptors.
    const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
    assert.ok(started?.header?.fields?.['_tracer-data'], 'the start carries a trace context');
    // The pay request ran the pay update's validator, which is not in the history and not run
    // on replay: traced, its span's random IDs would leave the replay's Math.random behind.
    const options = { workflowBundle: await workflowBundle(), sinks: untracedWorkflowSinks };
    await Worker.runReplayHistory(options, history, traced.id);
    recordMissingHistories({ 'traced-succeeded-merchant-told': historyToJSON(history) });
  });
});
