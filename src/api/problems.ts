// One error handler for the whole API: every failure leaves as RFC 9457 problem+json with a
// Stripe-style `type` (the category), a stable `code`, and the channel's own `decline_code` where it
// gave one. Also where route schemas meet it: the validator that turns a schema's issues into the
// same 400 problem, and the problem answers routes declare for the OpenAPI document.
import type {
  FastifyError,
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  FastifySchemaCompiler,
} from 'fastify';
import type { FastifySerializerCompiler } from 'fastify/types/schema';
import { z } from 'zod';
import { DomainError, type ErrorCode, type FieldProblem } from '../domain/errors';
import { refuseUnstorableText } from '../domain/storableText';
import { outageOf, retryAfterSeconds } from './outages';
import { requestIdHeader } from './requestLogs';

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
  CURRENCY_NOT_ACCEPTED: 422,
  INVALID_SIGNATURE: 401,
  REFUND_CONFLICT: 409,
  ORDER_NOT_PAID: 409,
  REFUND_EXCEEDS_PAYMENT: 409,
  IDEMPOTENCY_KEY_REUSED: 422,
  IDEMPOTENCY_KEY_IN_USE: 409,
  RECONCILIATION_RUNNING: 409,
  DIFFERENCE_NOT_OPEN: 409,
};

/**
 * The categories of problems, as Stripe's error `type`: what kind of thing went wrong, so a client
 * can decide without knowing every `code`.
 */
export const problemTypes = [
  /** The request itself is wrong or conflicts with the state of things: do not retry it as is. */
  'invalid_request_error',
  /** No valid key (or cashier token, or channel signature): fix the credentials. */
  'authentication_error',
  /** Idempotency-Key reused for another request, or still in use by a running one. */
  'idempotency_error',
  /** Too many requests: retry after Retry-After. */
  'rate_limit_error',
  /** The channel refused, declined or did not answer; `decline_code` is the channel's own code. */
  'channel_error',
  /** paycenter could not complete the request (5xx): retry later with the same Idempotency-Key. */
  'api_error',
] as const;
export type ProblemType = (typeof problemTypes)[number];

/** Codes whose category is not what their status says (4xx invalid_request_error, 5xx api_error). */
const problemTypeOfCode: Partial<Record<string, ProblemType>> = {
  UNAUTHENTICATED: 'authentication_error',
  MODE_MISMATCH: 'authentication_error',
  INVALID_SIGNATURE: 'authentication_error',
  CASHIER_TOKEN_INVALID: 'authentication_error',
  IDEMPOTENCY_KEY_REUSED: 'idempotency_error',
  IDEMPOTENCY_KEY_IN_USE: 'idempotency_error',
  RATE_LIMITED: 'rate_limit_error',
  CASHIER_PAY_RATE_LIMITED: 'rate_limit_error',
  CHANNEL_REJECTED: 'channel_error',
  CHANNEL_UNAVAILABLE: 'channel_error',
  PAYMENT_DECLINED: 'channel_error',
  STATUS_UNKNOWN: 'channel_error',
};

export function problemTypeOf(status: number, code: string): ProblemType {
  return problemTypeOfCode[code] ?? (status < 500 ? 'invalid_request_error' : 'api_error');
}

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

export interface ProblemExtras {
  /** The fields at fault (VALIDATION_FAILED, PAY_ORDER_CONFLICT). */
  fields?: FieldProblem[];
  /** The channel's own code for a refusal or decline, where it gave one. */
  declineCode?: string | undefined;
}

export function sendProblem(
  reply: FastifyReply,
  status: number,
  code: string,
  detail: string,
  { fields = [], declineCode }: ProblemExtras = {},
) {
  // Every 503 is for now: the merchant may retry the same request shortly.
  if (status === 503) reply.header('Retry-After', String(retryAfterSeconds));
  // Set here as well: the router's own refusals (frameworkErrors) answer before any hook runs.
  reply.header(requestIdHeader, reply.request.id);
  return reply
    .status(status)
    .type('application/problem+json')
    .send({
      type: problemTypeOf(status, code),
      title: detail,
      status,
      code,
      ...(declineCode !== undefined ? { decline_code: declineCode } : {}),
      detail,
      instance: reply.request.url,
      requestId: reply.request.id,
      ...(fields.length > 0 ? { errors: fields } : {}),
    });
}

/** RFC 9457 problem details as `sendProblem` sends them. */
export const problemSchema = z
  .object({
    type: z.enum(problemTypes).meta({
      description:
        'The category (as Stripe’s error types): invalid_request_error, authentication_error, ' +
        'idempotency_error, rate_limit_error, channel_error or api_error',
    }),
    title: z.string(),
    status: z.number().int(),
    code: z.string().meta({ description: 'Stable machine-readable code, e.g. VALIDATION_FAILED' }),
    decline_code: z
      .string()
      .optional()
      .meta({ description: "The channel's own code for a refusal or decline, where it gave one" }),
    detail: z.string(),
    instance: z.string(),
    requestId: z.string().meta({
      description:
        'This request’s ID, also its Request-Id header; quote it when asking about the request. ' +
        'A replayed idempotent answer carries the ID of the request that made it',
    }),
    errors: z
      .array(
        z.object({
          field: z.string().meta({ description: 'Where the problem is, e.g. body.amount' }),
          message: z.string(),
        }),
      )
      .optional(),
  })
  .meta({ id: 'Problem', description: 'RFC 9457 problem details' });

const problemTitles: Record<number, string> = {
  400: 'The request is invalid (the problem names each field)',
  401: 'No valid key',
  402: 'The payment was declined',
  403: 'Not allowed',
  404: 'Not found',
  409: 'Conflicts with the current state',
  413: 'The body is too large',
  414: 'A path parameter is too long',
  415: 'Content-Type must be application/json',
  422: 'Well formed, but cannot be done (an Idempotency-Key used for another request, a currency no channel takes)',
  429: 'Too many requests',
  502: 'The channel refused the request',
  503: 'Unavailable for now; retry after Retry-After',
};

/** The problem+json answers of a route, by status, for its schema's `response`. */
export function problemResponses(...statuses: number[]) {
  return Object.fromEntries(
    statuses.map((status) => [
      status,
      {
        description: problemTitles[status] ?? 'Error',
        content: { 'application/problem+json': { schema: problemSchema } },
      },
    ]),
  );
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
  throw new DomainError('VALIDATION_FAILED', invalidPart(where, fields), fields);
}

/** The message of a 400 for a request part, naming each field at fault. */
const invalidPart = (where: string, fields: FieldProblem[]) =>
  `invalid ${where}: ${fields.map((f) => `${f.field} ${f.message}`).join('; ')}`;

/** How a problem's fields name the part of the request they are in. */
const requestParts: Record<string, string> = {
  body: 'body',
  querystring: 'query',
  params: 'path',
};

/**
 * Validates a route's declared zod schemas as the handlers did before: an invalid part is a 400
 * VALIDATION_FAILED naming each field (`body.amount`), a missing body is an empty one. Headers are
 * checked by the plugins that read them (auth, idempotency); their schemas only describe them.
 */
export const validatorCompiler: FastifySchemaCompiler<z.ZodType> = ({ schema, httpPart }) => {
  const where = httpPart ? requestParts[httpPart] : undefined;
  if (!where) return () => ({});
  return (input) => {
    try {
      // Text the database cannot keep is refused before the schema, naming the fields.
      refuseUnstorableText(input, where, (fields) => invalidPart(where, fields));
      return { value: parseInput(schema, input, where) };
    } catch (err) {
      return { error: err as Error };
    }
  };
};

/**
 * Answers leave as the handlers shaped them: the response schemas describe them in the document
 * (and type the handlers), but never strip or reject a field at run time.
 */
export const serializerCompiler: FastifySerializerCompiler<z.ZodType> = () => (data) =>
  JSON.stringify(data);

/** What a failed request answers: the status, the stable code and the detail, with extras. */
export interface Failure {
  status: number;
  code: string;
  detail: string;
  extras?: ProblemExtras;
}

/**
 * How any error a request ends with is answered: one rule for the API's problem+json and the ops
 * console's pages alike. Logs what operators need to see (outages, unexpected errors).
 */
export function failureOf(err: FastifyError | DomainError | Error, req: FastifyRequest): Failure {
  if (err instanceof DomainError) {
    return {
      status: httpStatus[err.code],
      code: err.code,
      detail: err.message,
      extras: { fields: err.fields, declineCode: err.declineCode },
    };
  }
  const known = 'code' in err && typeof err.code === 'string' ? fastifyErrors[err.code] : undefined;
  if (known) return { status: known.status, code: known.code, detail: known.title };
  const status = 'statusCode' in err && typeof err.statusCode === 'number' ? err.statusCode : 500;
  if (status < 500) return { status, code: 'BAD_REQUEST', detail: err.message };
  const outage = outageOf(err);
  if (outage) {
    req.log.warn({ err }, outage.detail);
    return { status: 503, code: outage.code, detail: outage.detail };
  }
  req.log.error({ err }, 'request failed');
  return { status: 500, code: 'INTERNAL', detail: 'paycenter could not complete the request' };
}

export function registerProblemHandlers(app: FastifyInstance) {
  app.setErrorHandler((err: FastifyError | DomainError | Error, req, reply) => {
    const failure = failureOf(err, req);
    return sendProblem(reply, failure.status, failure.code, failure.detail, failure.extras);
  });
  app.setNotFoundHandler((req, reply) =>
    sendProblem(reply, 404, 'NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`),
  );
}
