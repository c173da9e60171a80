// The OpenTelemetry side of src/tracing.ts, loaded only when OTEL_EXPORTER_OTLP_ENDPOINT is set:
// a tracer provider per part (its service name on every span), batched export over OTLP/HTTP,
// and the process-wide context manager and W3C propagator the Temporal interceptors rely on.
import * as otel from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import {
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_SERVICE_NAME,
  ATTR_URL_PATH,
} from '@opentelemetry/semantic-conventions';
import {
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  OpenTelemetryWorkflowClientInterceptor,
  makeWorkflowExporter,
} from '@temporalio/interceptors-opentelemetry';
import type { ClientInterceptors } from '@temporalio/client';
import type { WorkerOptions } from '@temporalio/worker';
import type { FastifyInstance, FastifyRequest } from 'fastify';

/** What a part of paycenter adds to its clients, worker and HTTP server to be traced. */
export interface Tracing {
  /** Each workflow start, signal and update carries the caller's trace context. */
  clientInterceptors: ClientInterceptors;
  /** The activities' spans, and the sink the workflows' spans (made in the workflow isolate) leave through. */
  worker: Required<Pick<WorkerOptions, 'interceptors' | 'sinks'>>;
  /** A server span for each request, continuing the caller's W3C trace context if it sent one. */
  traceRequests: (app: FastifyInstance) => void;
  /** Sends what is still buffered and lets go of the exporter. */
  stop(): Promise<void>;
}

/** Parts of this process that trace; the globals are set by the first and cleared by the last. */
let tracingParts = 0;

function holdGlobals(): void {
  if (tracingParts++ > 0) return;
  otel.context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  otel.propagation.setGlobalPropagator(new W3CTraceContextPropagator());
}

function releaseGlobals(): void {
  if (--tracingParts > 0) return;
  otel.context.disable();
  otel.propagation.disable();
}

export function exportSpans(options: { endpoint: string; serviceName: string }): Tracing {
  holdGlobals();
  const resource = new Resource({ [ATTR_SERVICE_NAME]: options.serviceName });
  const spanProcessor = new BatchSpanProcessor(
    new OTLPTraceExporter({ url: new URL('v1/traces', withSlash(options.endpoint)).toString() }),
  );
  const provider = new BasicTracerProvider({ resource, spanProcessors: [spanProcessor] });
  const tracer = provider.getTracer('paycenter');
  return {
    clientInterceptors: { workflow: [new OpenTelemetryWorkflowClientInterceptor({ tracer })] },
    worker: {
      interceptors: {
        activity: [
          (ctx) => ({
            inbound: new OpenTelemetryActivityInboundInterceptor(ctx, { tracer }),
            outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
          }),
        ],
      },
      sinks: { exporter: makeWorkflowExporter(spanProcessor, resource) },
    },
    traceRequests: (app) => traceRequests(app, tracer),
    async stop() {
      try {
        await provider.shutdown();
      } finally {
        releaseGlobals();
      }
    },
  };
}

/** The endpoint as a base URL: the traces path is added under it, like the OTLP exporters do. */
function withSlash(endpoint: string): string {
  return endpoint.endsWith('/') ? endpoint : `${endpoint}/`;
}

const requestSpans = new WeakMap<FastifyRequest, otel.Span>();

/**
 * A SERVER span from each request's arrival to its answer. The handler runs in the span's
 * context from preHandler on: the body is parsed by then, and the parser's stream events would
 * not carry a context entered earlier.
 */
function traceRequests(app: FastifyInstance, tracer: otel.Tracer): void {
  app.addHook('onRequest', (request, _reply, done) => {
    const caller = otel.propagation.extract(otel.ROOT_CONTEXT, request.headers);
    const route = request.routeOptions.url;
    const span = tracer.startSpan(
      route === undefined ? request.method : `${request.method} ${route}`,
      {
        kind: otel.SpanKind.SERVER,
        attributes: {
          [ATTR_HTTP_REQUEST_METHOD]: request.method,
          [ATTR_URL_PATH]: request.url.split('?', 1)[0],
          ...(route === undefined ? {} : { [ATTR_HTTP_ROUTE]: route }),
        },
      },
      caller,
    );
    requestSpans.set(request, span);
    done();
  });
  app.addHook('preHandler', (request, _reply, done) => {
    const span = requestSpans.get(request);
    if (!span) return done();
    otel.context.with(otel.trace.setSpan(otel.context.active(), span), done);
  });
  app.addHook('onResponse', (request, reply, done) => {
    const span = requestSpans.get(request);
    if (span) {
      span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, reply.statusCode);
      if (reply.statusCode >= 500) span.setStatus({ code: otel.SpanStatusCode.ERROR });
      span.end();
      requestSpans.delete(request);
    }
    done();
  });
}
