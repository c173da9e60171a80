// Issue 16, traces: without OTEL_EXPORTER_OTLP_ENDPOINT a part has no tracing and the process
// loads no OpenTelemetry module; with it, the part traces and sets the W3C propagator while it
// does (the end-to-end test tracing.test.ts follows a payment's spans).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config';
import { startTracing } from '../../src/tracing';

/** Modules of this process that belong to OpenTelemetry or load it (our span export). */
const openTelemetryModules = () =>
  Object.keys(require.cache).filter(
    (file) =>
      file.includes('/@opentelemetry/') ||
      file.includes('/interceptors-opentelemetry/') ||
      file.endsWith('/src/spanExport.ts'),
  );

describe('tracing configuration', () => {
  it('issue 16: with no endpoint configured nothing traces, and OpenTelemetry is never loaded', () => {
    assert.deepEqual(openTelemetryModules(), []);
    const config = loadConfig({});
    assert.equal(config.OTEL_EXPORTER_OTLP_ENDPOINT, undefined);
    assert.equal(startTracing(config, 'api'), undefined);
    assert.equal(
      startTracing(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: '' }), 'worker'),
      undefined,
    );
    assert.deepEqual(openTelemetryModules(), []);
  });

  it('refuses an endpoint that is not a URL, naming the variable', () => {
    assert.throws(
      () => loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }),
      /OTEL_EXPORTER_OTLP_ENDPOINT/,
    );
  });

  it('issue 16: with an endpoint, a part traces until it stops', async () => {
    const config = loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' });
    const tracing = startTracing(config, 'worker');
    assert.ok(tracing);
    assert.ok(openTelemetryModules().length > 0);
    assert.ok(tracing.worker.sinks.exporter, 'the workflows’ spans have a sink');
    assert.ok(tracing.clientInterceptors.workflow, 'workflow starts carry the trace context');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const otel = require('@opentelemetry/api') as typeof import('@opentelemetry/api');
    // The W3C propagator is the process's while a part traces, and gone once none does.
    const carrier: Record<string, string> = {};
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const caller = otel.propagation.extract(otel.ROOT_CONTEXT, { traceparent });
    otel.propagation.inject(caller, carrier);
    assert.equal(carrier.traceparent, traceparent);
    await tracing.stop();
    const after: Record<string, string> = {};
    otel.propagation.inject(caller, after);
    assert.deepEqual(after, {});
  });
});
