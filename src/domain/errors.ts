// One error type for every rule the domain enforces; `code` is stable and the API maps it to HTTP.
export const errorCodes = [
  'VALIDATION_FAILED',
  'UNAUTHENTICATED',
  'MODE_MISMATCH',
  'NOT_FOUND',
  'PAY_ORDER_CONFLICT',
  'ALREADY_PAID',
  'ORDER_CLOSED',
  'STATUS_UNKNOWN',
  'TOO_MANY_CHANNEL_ORDERS',
  'CHANNEL_UNAVAILABLE',
  'CHANNEL_REJECTED',
  'PAYMENT_DECLINED',
  'UNSUPPORTED_CHANNEL',
  'CURRENCY_NOT_ACCEPTED',
  'INVALID_SIGNATURE',
  'REFUND_CONFLICT',
  'ORDER_NOT_PAID',
  'REFUND_EXCEEDS_PAYMENT',
  'IDEMPOTENCY_KEY_REUSED',
  'IDEMPOTENCY_KEY_IN_USE',
  'RECONCILIATION_RUNNING',
  'DIFFERENCE_NOT_OPEN',
] as const;
export type ErrorCode = (typeof errorCodes)[number];

export interface FieldProblem {
  field: string;
  message: string;
}

export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly fields: FieldProblem[] = [],
    /** The channel's own code for a refusal or decline (CHANNEL_REJECTED, PAYMENT_DECLINED). */
    readonly declineCode?: string,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (errorCodes as readonly string[]).includes(value);
}
