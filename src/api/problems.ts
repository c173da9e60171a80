// One error handler for the whole API: every failure leaves as RFC 9457 problem+json.
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { DomainError, type ErrorCode, type FieldProblem } from '../domain/errors';
import { outageOf, retryAfterSeconds } from './outages';

const httpStatus: Record<ErrorCode, number> = {
  VALIDATION_FAILED: 400,
  UNAUTHENTICATED: 401,
  MODE_MISMATCH: 401,
  NOT_FOUND: 404,
  PAY_ORDER_CONFLICT: 409,
  ALREADY_PAID: 409,
  ORDER_CLOSED: 409,
  STATUS_UNKNOWN: 409,
  TOO_MANY_CHANNEL_ORDERS: 409,
  CHANNEL_UNAVAILABLE: 503,
  CHANNEL_REJECTED: 502,
  PAYMENT_DECLINED: 402,
  UNSUPPORTED_CHANNEL: 400,
  INVALID_SIGNATURE: 401,
  REFUND_CONFLICT: 409,
  ORDER_NOT_PAID: 409,
  REFUND_EXCEEDS_PAYMENT: 409,
  IDEMPOTENCY_KEY_REUSED: 422,
  IDEMPOTENCY_KEY_IN_USE: 409,
  RECONCILIATION_RUNNING: 409,
  DIFFERENCE_NOT_OPEN: 409,
};

/** Errors of Fastify and its plugins, by their codes, as the problem codes we answer with. */
const fastifyErrors: Record<string, { status: number; code: string; title: string }> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
    title: 'Content-Type must be application/json',
  },
  FST_ERR_CTP_BODY_TOO_LARGE: {
    status: 413,
    code: 'BODY_TOO_LARGE',
    title: 'Request body is too large',
  },
  FST_ERR_CTP_INVALID_JSON_BODY: {
    status: 400,
    code: 'MALFORMED_JSON',
    title: 'Body is not valid JSON',
  },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'MALFORMED_JSON', title: 'Body is empty' },
  RATE_LIMITED: {
    status: 429,
    code: 'RATE_LIMITED',
    title: 'Too many requests for this API key or address; retry after the Retry-After header',
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: {
    status: 400,
    code: 'MALFORMED_REQUEST',
    title: 'Content-Length does not match the body',
  },
};

export function sendProblem(
  reply: FastifyReply,
  status: number,
  code: string,
  detail: string,
  fields: FieldProblem[] = [],
) {
  // Every 503 is for now: the merchant may retry the same request shortly.
  if (status === 503) reply.header('Retry-After', String(retryAfterSeconds));
  return reply
    .status(status)
    .type('application/problem+json')
    .send({
      type: `urn:paycenter:problem:${code.toLowerCase().replace(/_/g, '-')}`,
      title: detail,
      status,
      code,
      detail,
      instance: reply.request.url,
      ...(fields.length > 0 ? { errors: fields } : {}),
    });
}

/** Parses with zod and turns every issue into a field problem naming where it is. */
export function parseInput<T>(schema: z.ZodType<T>, input: unknown, where: string): T {
  const parsed = schema.safeParse(input ?? {});
  if (parsed.success) return parsed.data;
  const fields = parsed.error.issues.map((issue) => ({
    field: [where, ...issue.path.map(String)].join('.'),
    message:
      issue.code === 'unrecognized_keys'
        ? `unknown field(s): ${issue.keys.join(', ')}`
        : issue.message,
  }));
  throw new DomainError(
    'VALIDATION_FAILED',
    `invalid ${where}: ${fields.map((f) => `${f.field} ${f.message}`).join('; ')}`,
    fields,
  );
}

export function registerProblemHandlers(app: FastifyInstance) {
  app.setErrorHandler((err: FastifyError | DomainError | Error, req, reply) => {
    if (err instanceof DomainError) {
      return sendProblem(reply, httpStatus[err.code], err.code, err.message, err.fields);
    }
    const known =
      'code' in err && typeof err.code === 'string' ? fastifyErrors[err.code] : undefined;
    if (known) return sendProblem(reply, known.status, known.code, known.title);
    const status = 'statusCode' in err && typeof err.statusCode === 'number' ? err.statusCode : 500;
    if (status < 500) return sendProblem(reply, status, 'BAD_REQUEST', err.message);
    const outage = outageOf(err);
    if (outage) {
      req.log.warn({ err }, outage.detail);
      return sendProblem(reply, 503, outage.code, outage.detail);
    }
    req.log.error({ err }, 'request failed');
    return sendProblem(reply, 500, 'INTERNAL', 'paycenter could not complete the request');
  });
  app.setNotFoundHandler((req, reply) =>
    sendProblem(reply, 404, 'NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`),
  );
}
