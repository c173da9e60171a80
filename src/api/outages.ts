// A failure that says a part paycenter depends on is down or busy for now, not that the request
// is wrong: the API answers it 503 with Retry-After, so that a merchant retries, not gives up.
import {
  ApplicationFailure,
  isGrpcServiceError,
  ServiceError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
} from '@temporalio/client';
import { OrderBusyError } from '../services/orderTurns';
import { handOver } from '../workflows/contracts/payment';

export interface Outage {
  code: 'TEMPORARILY_UNAVAILABLE' | 'STILL_PROCESSING';
  detail: string;
}

/** Seconds a merchant should wait before trying again. */
export const retryAfterSeconds = 2;

// gRPC status codes of a Temporal server that is down, restarting or overloaded.
const resourceExhausted = 8;
const grpcUnavailable = new Set([4 /* DEADLINE_EXCEEDED */, resourceExhausted, 14]);
const failedPrecondition = 9;

// The driver's own codes for a connection that could not be made or died, and the SQLSTATEs
// of a server that is shutting down or starting (class 08 is every connection exception).
const databaseDown = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_DESTROYED',
  'CONNECTION_ENDED',
  'CONNECT_TIMEOUT',
  '57P01',
  '57P02',
  '57P03',
  '53300',
]);

const orderBusy = 'the pay order is busy with other requests; retry shortly';

export function outageOf(err: unknown): Outage | undefined {
  for (let cause = err, depth = 0; cause instanceof Error && depth < 8; depth++) {
    if (cause instanceof OrderBusyError) {
      return { code: 'TEMPORARILY_UNAVAILABLE', detail: orderBusy };
    }
    if (
      cause instanceof WorkflowUpdateRPCTimeoutOrCancelledError ||
      (cause instanceof ApplicationFailure && cause.type === handOver)
    ) {
      return {
        code: 'STILL_PROCESSING',
        detail:
          'the payment did not answer in time and may still complete; retry the same request ' +
          '(with the same Idempotency-Key) to learn its outcome',
      };
    }
    if (cause instanceof ServiceError && isGrpcServiceError(cause.cause)) {
      // grpc-js puts the server's text in `details`; the SDK's native connection in `message`.
      const { code } = cause.cause;
      const details = cause.cause.details || cause.cause.message;
      // More Updates in flight on the order's workflow than Temporal takes (from several API
      // processes at once, or past what their turns let through).
      if (Number(code) === resourceExhausted && /in-flight updates/i.test(details)) {
        return { code: 'TEMPORARILY_UNAVAILABLE', detail: orderBusy };
      }
      if (grpcUnavailable.has(code)) {
        return { code: 'TEMPORARILY_UNAVAILABLE', detail: 'the workflow service is unavailable' };
      }
      // A worker died (or timed out) in the middle of the workflow's task: Temporal refuses
      // Updates until another worker has run the task again, which it does by itself.
      if (Number(code) === failedPrecondition && /workflow task in failed state/i.test(details)) {
        return {
          code: 'STILL_PROCESSING',
          detail: 'the payment is recovering from a worker failure; retry the same request shortly',
        };
      }
    }
    const code = 'code' in cause ? cause.code : undefined;
    if (typeof code === 'string' && (databaseDown.has(code) || code.startsWith('08'))) {
      return { code: 'TEMPORARILY_UNAVAILABLE', detail: 'the database is unavailable' };
    }
    cause = cause.cause;
  }
  return undefined;
}
