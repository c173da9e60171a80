// The workflow side of tracing (src/tracing.ts), bundled as the workflows' interceptor module: a
// workflow whose start carries a trace context runs under the SDK's OpenTelemetry interceptors
// (its spans leave through the worker's `exporter` sink, its activities, children and
// continue-as-new carry the context on); one started without a trace context, and every history
// recorded before tracing existed, runs exactly as if this module were not there.
import type {
  OpenTelemetryInboundInterceptor,
  OpenTelemetryInternalsInterceptor,
  OpenTelemetryOutboundInterceptor,
} from '@temporalio/interceptors-opentelemetry/lib/workflow';
import type {
  WorkflowInboundCallsInterceptor,
  WorkflowInterceptors,
  WorkflowInternalsInterceptor,
  WorkflowOutboundCallsInterceptor,
} from '@temporalio/workflow';

/** The header the SDK's OpenTelemetry interceptors carry the trace context in. */
const traceHeader = '_tracer-data';

interface Traced {
  inbound: OpenTelemetryInboundInterceptor;
  outbound: OpenTelemetryOutboundInterceptor;
  internals: OpenTelemetryInternalsInterceptor;
}

/**
 * The SDK's OpenTelemetry interceptors, their modules loaded here and not imported above: each
 * workflow execution evaluates the modules it imports afresh (the worker's reused V8 context keeps
 * a module cache per workflow), and OpenTelemetry's took a tenth of the workflow thread's time
 * when every workflow loaded them, traced or not.
 */
function tracedInterceptors(): Traced {
  const otel =
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('@temporalio/interceptors-opentelemetry/lib/workflow') as typeof import('@temporalio/interceptors-opentelemetry/lib/workflow');
  return {
    inbound: new otel.OpenTelemetryInboundInterceptor(),
    outbound: new otel.OpenTelemetryOutboundInterceptor(),
    internals: new otel.OpenTelemetryInternalsInterceptor(),
  };
}

/** Called once per workflow execution: its interceptors, traced from the start or never. */
export const interceptors = (): WorkflowInterceptors => {
  let traced: Traced | undefined;
  const inbound: WorkflowInboundCallsInterceptor = {
    execute(input, next) {
      if (!(traceHeader in input.headers)) return next(input);
      traced = tracedInterceptors();
      return traced.inbound.execute(input, next);
    },
    handleSignal: (input, next) =>
      traced ? traced.inbound.handleSignal(input, next) : next(input),
    handleUpdate: (input, next) =>
      traced ? traced.inbound.handleUpdate(input, next) : next(input),
    // Queries and update validators are not traced: they run outside the history (not again on
    // replay), and a span's random IDs would move the workflow's seeded Math.random, from which
    // the merchant notifications' event IDs come, so a replay would diverge
    // (temporalio/sdk-typescript#2023).
  };
  const outbound: WorkflowOutboundCallsInterceptor = {
    scheduleActivity: (input, next) =>
      traced ? traced.outbound.scheduleActivity(input, next) : next(input),
    scheduleLocalActivity: (input, next) =>
      traced ? traced.outbound.scheduleLocalActivity(input, next) : next(input),
    startChildWorkflowExecution: (input, next) =>
      traced ? traced.outbound.startChildWorkflowExecution(input, next) : next(input),
    continueAsNew: (input, next) =>
      traced ? traced.outbound.continueAsNew(input, next) : next(input),
    signalWorkflow: (input, next) =>
      traced ? traced.outbound.signalWorkflow(input, next) : next(input),
    getLogAttributes: (input, next) =>
      traced ? traced.outbound.getLogAttributes(input, next) : next(input),
  };
  const internals: WorkflowInternalsInterceptor = {
    dispose(input, next) {
      // The SDK's dispose does its work before its first await.
      if (traced) void traced.internals.dispose(input, next);
      else next(input);
    },
  };
  return { inbound: [inbound], outbound: [outbound], internals: [internals] };
};
