// Traces, when OTEL_EXPORTER_OTLP_ENDPOINT is set: the API's requests, the workflow starts and
// signals of every client, the workflows and the activities, one trace per payment from its
// create request to the merchant's notification. Unset, nothing here loads OpenTelemetry.
import type { InjectedSinks } from '@temporalio/worker';
import type { OpenTelemetryWorkflowExporter } from '@temporalio/interceptors-opentelemetry';
import type { Config } from './config';
import type { Tracing } from './spanExport';

export type { Tracing };

export type TracedPart = 'api' | 'worker';

/** The part's tracing: undefined, and no OpenTelemetry module loaded, when no endpoint is set. */
export function startTracing(
  config: Pick<Config, 'OTEL_EXPORTER_OTLP_ENDPOINT' | 'OTEL_SERVICE_NAME'>,
  part: TracedPart,
): Tracing | undefined {
  const endpoint = config.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (endpoint === undefined) return undefined;
  // Loaded here, not imported above: an untraced process never runs OpenTelemetry's modules.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { exportSpans } = require('./spanExport') as typeof import('./spanExport');
  return exportSpans({ endpoint, serviceName: config.OTEL_SERVICE_NAME ?? `paycenter-${part}` });
}

/**
 * The workflows' span sink of an untraced worker: a workflow started with a trace context by a
 * traced client still makes its spans (src/workflows/tracing.ts), and they are dropped here.
 */
export const untracedWorkflowSinks: InjectedSinks<{ exporter: OpenTelemetryWorkflowExporter }> = {
  exporter: { export: { fn: () => {} } },
};
