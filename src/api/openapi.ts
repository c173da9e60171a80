// The API's OpenAPI 3.1 document, generated from the zod schemas the routes validate with, so the
// description cannot drift from the validation. Routes describe themselves as `ApiOperation`s;
// `buildOpenApiDocument` turns a list of them into the document; `openApiRoutes` serves it at
// GET /openapi.json and an offline reference page at GET /docs.
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import {
  createPayOrderSchema,
  createRefundSchema,
  idParamSchema,
  listPayOrdersQuerySchema,
  payAnswerSchema,
  type PayOrderLimits,
  payOrderListSchema,
  payOrderSummarySchema,
  payOrderViewSchema,
  payRequestSchema,
  refundIdParamSchema,
  refundLookupSchema,
  refundViewSchema,
} from '../domain/schemas';
import type { PayAnswer } from '../workflows/contracts/payment';
import { docsPage } from './docsPage';
import { validKey } from './idempotency';

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

type JsonSchema = Record<string, unknown>;

export interface ApiResponse {
  description: string;
  /** The zod schema of the JSON answer, when there is one. */
  schema?: z.ZodType;
}

/** One operation of the API, described by the same zod schemas its route parses with. */
export interface ApiOperation {
  method: HttpMethod;
  /** OpenAPI form, with the full prefix: `/v1/pay-orders/{id}`. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tags?: string[];
  /** Who may call it; `merchant` (the default) is the merchant's API key as a bearer token. */
  auth?: 'merchant' | 'ops' | 'none';
  /** A zod object whose keys are the path parameters. */
  pathParams?: z.ZodType;
  /** A zod object whose keys are the query parameters. */
  query?: z.ZodType;
  /** The JSON request body. */
  body?: z.ZodType;
  /** Successful answers by status code. */
  responses: Record<number, ApiResponse>;
  /** Error statuses answered as problem+json (401 is added for authenticated operations). */
  problems?: number[];
}

/** RFC 9457 problem details as src/api/problems.ts sends them. */
export const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    code: z.string().meta({ description: 'Stable machine-readable code, e.g. VALIDATION_FAILED' }),
    detail: z.string(),
    instance: z.string(),
    errors: z
      .array(
        z.object({
          field: z.string().meta({ description: 'Where the problem is, e.g. body.amount' }),
          message: z.string(),
        }),
      )
      .optional(),
  })
  .meta({ description: 'RFC 9457 problem details' });

const problemTitles: Record<number, string> = {
  400: 'The request is invalid (the problem names each field)',
  401: 'Missing, unknown or revoked API key',
  402: 'The payment was declined',
  404: 'No such resource (or it belongs to another merchant)',
  409: 'The request conflicts with the current state',
  413: 'The body is too large',
  415: 'Content-Type must be application/json',
  502: 'The channel refused the request',
  503: 'The channel, the database or the workflow service is unavailable, or the payment is still processing; retry after Retry-After',
};

/** A compile-time check that a service's answer type fits the schema the document shows. */
type Fits<Actual extends Expected, Expected> = Actual;
export type PayAnswerFitsSchema = Fits<PayAnswer, z.output<typeof payAnswerSchema>>;

/** The pay-order operations of the merchant API (src/api/routes/merchant.ts). */
export function payOrderOperations(limits: PayOrderLimits): ApiOperation[] {
  const tags = ['Pay orders'];
  return [
    {
      method: 'post',
      path: '/v1/pay-orders',
      operationId: 'createPayOrder',
      summary: 'Create a pay order',
      description:
        'Idempotent by merchantOrderNo: the same request again answers 200 with the same order; ' +
        'another amount or currency answers 409 PAY_ORDER_CONFLICT. Amounts are integers in minor units.',
      tags,
      body: createPayOrderSchema(limits),
      responses: {
        201: { description: 'Created', schema: payOrderSummarySchema },
        200: {
          description: 'The order this merchantOrderNo already has',
          schema: payOrderSummarySchema,
        },
      },
      problems: [400, 409, 413, 415],
    },
    {
      method: 'get',
      path: '/v1/pay-orders',
      operationId: 'listPayOrders',
      summary: 'List pay orders, newest first',
      description:
        'Filters combine with AND. Pagination is by cursor: pass `nextCursor` as `cursor` for the ' +
        'next, older page; orders created meanwhile never shift later pages.',
      tags,
      query: listPayOrdersQuerySchema,
      responses: { 200: { description: 'One page of orders', schema: payOrderListSchema } },
      problems: [400],
    },
    {
      method: 'get',
      path: '/v1/pay-orders/{id}',
      operationId: 'getPayOrder',
      summary: 'Read a pay order with its channel orders, refunds and notifications',
      tags,
      pathParams: idParamSchema,
      responses: { 200: { description: 'The pay order', schema: payOrderViewSchema } },
      problems: [400, 404],
    },
    {
      method: 'post',
      path: '/v1/pay-orders/{id}/pay',
      operationId: 'payPayOrder',
      summary: 'Open (or reuse) a channel order to pay with',
      description:
        'At most one channel order is open per pay order. Bank-card quick pay answers the outcome.',
      tags,
      pathParams: idParamSchema,
      body: payRequestSchema,
      responses: { 200: { description: 'The channel order', schema: payAnswerSchema } },
      problems: [400, 402, 404, 409, 502, 503],
    },
    {
      method: 'post',
      path: '/v1/pay-orders/{id}/sync',
      operationId: 'syncPayOrder',
      summary: 'Ask the channel now and answer the fresh pay order',
      tags,
      pathParams: idParamSchema,
      responses: { 200: { description: 'The pay order', schema: payOrderViewSchema } },
      problems: [400, 404, 409, 503],
    },
    {
      method: 'post',
      path: '/v1/pay-orders/{id}/close',
      operationId: 'closePayOrder',
      summary: 'Close the pay order (its open channel order first)',
      description: 'A paid order stays paid: closing it answers 409 ALREADY_PAID.',
      tags,
      pathParams: idParamSchema,
      responses: { 200: { description: 'The pay order', schema: payOrderViewSchema } },
      problems: [400, 404, 409, 503],
    },
  ];
}

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io,
    unrepresentable: 'any',
    // Answers may gain fields; only requests are closed to unknown ones (`.strict()`).
    override: ({ jsonSchema: generated }) => {
      if (io === 'output' && generated.additionalProperties === false) {
        delete generated.additionalProperties;
      }
    },
  }) as JsonSchema;
  return rest;
}

function parameters(schema: z.ZodType, where: 'path' | 'query') {
  const object = jsonSchema(schema, 'input');
  const properties = (object.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((object.required as string[] | undefined) ?? []);
  return Object.entries(properties).map(([name, property]) => {
    const { description, ...propertySchema } = property;
    return {
      name,
      in: where,
      required: where === 'path' || required.has(name),
      ...(typeof description === 'string' ? { description } : {}),
      schema: propertySchema,
    };
  });
}

export interface OpenApiInfo {
  title?: string;
  version?: string;
  description?: string;
  /** Absolute base URL for `servers`; omitted, clients resolve paths against the document's URL. */
  serverUrl?: string;
}

/** The refund operations of the merchant API (src/api/routes/refunds.ts). */
export function refundOperations(limits: Pick<PayOrderLimits, 'maxAmount'>): ApiOperation[] {
  const tags = ['Refunds'];
  return [
    {
      method: 'post',
      path: '/v1/refunds',
      operationId: 'createRefund',
      summary: 'Refund a paid order, partly or fully',
      description:
        'Idempotent by merchantRefundNo: the same request again answers 200 with the same refund; ' +
        'another body answers 409 REFUND_CONFLICT. Refunds of an order never add up to more than ' +
        'was paid (409 REFUND_EXCEEDS_PAYMENT); an unpaid order answers 409 ORDER_NOT_PAID.',
      tags,
      body: createRefundSchema(limits),
      responses: {
        201: {
          description: 'Created; the refund then runs at the channel',
          schema: refundViewSchema,
        },
        200: {
          description: 'The refund this merchantRefundNo already has',
          schema: refundViewSchema,
        },
      },
      problems: [400, 404, 409, 413, 415],
    },
    {
      method: 'get',
      path: '/v1/refunds/{id}',
      operationId: 'getRefund',
      summary: 'Read a refund',
      tags,
      pathParams: refundIdParamSchema,
      responses: { 200: { description: 'The refund', schema: refundViewSchema } },
      problems: [400, 404],
    },
    {
      method: 'get',
      path: '/v1/refunds',
      operationId: 'getRefundByMerchantRefundNo',
      summary: 'Find a refund by its merchantRefundNo',
      tags,
      query: refundLookupSchema,
      responses: { 200: { description: 'The refund', schema: refundViewSchema } },
      problems: [400, 404],
    },
  ];
}

const idempotencyKeyParameter = {
  name: 'Idempotency-Key',
  in: 'header',
  required: false,
  description:
    'The first answer for this key is replayed for the retention period (24 h by default) with ' +
    '`Idempotent-Replayed: true`; the key with another request is 422 IDEMPOTENCY_KEY_REUSED, ' +
    'and while the first is running 409 IDEMPOTENCY_KEY_IN_USE.',
  schema: { type: 'string', pattern: validKey.source },
};

export function buildOpenApiDocument(operations: ApiOperation[], info: OpenApiInfo = {}) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of operations) {
    const key = `${op.method.toUpperCase()} ${op.path}`;
    const item = (paths[op.path] ??= {});
    if (item[op.method]) throw new Error(`OpenAPI: ${key} is described twice`);
    const auth = op.auth ?? 'merchant';
    // Every merchant POST honours Idempotency-Key (src/api/idempotency.ts).
    const idempotent = auth === 'merchant' && op.method === 'post';
    const problems = [
      ...new Set([
        ...(auth === 'none' ? [] : [401]),
        ...(idempotent ? [409, 422] : []),
        ...(op.problems ?? []),
      ]),
    ];
    const responses: Record<string, unknown> = {};
    for (const [status, response] of Object.entries(op.responses)) {
      responses[status] = {
        description: response.description,
        ...(response.schema
          ? { content: { 'application/json': { schema: jsonSchema(response.schema, 'output') } } }
          : {}),
      };
    }
    for (const status of problems.sort((a, b) => a - b)) {
      responses[String(status)] = {
        description: problemTitles[status] ?? 'Error',
        content: {
          'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } },
        },
      };
    }
    item[op.method] = {
      operationId: op.operationId,
      summary: op.summary,
      ...(op.description ? { description: op.description } : {}),
      ...(op.tags ? { tags: op.tags } : {}),
      ...(auth === 'none'
        ? { security: [] }
        : { security: [{ [auth === 'ops' ? 'opsKey' : 'merchantKey']: [] }] }),
      parameters: [
        ...(op.pathParams ? parameters(op.pathParams, 'path') : []),
        ...(op.query ? parameters(op.query, 'query') : []),
        ...(idempotent ? [idempotencyKeyParameter] : []),
      ],
      ...(op.body
        ? {
            requestBody: {
              required: true,
              content: { 'application/json': { schema: jsonSchema(op.body, 'input') } },
            },
          }
        : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: info.title ?? 'paycenter API',
      version: info.version ?? '1',
      description:
        info.description ??
        'Pay orders for merchants. Amounts are integers in minor units. Errors are RFC 9457 ' +
          'problem+json with a stable `code` and, for invalid input, `errors[].field`.',
    },
    ...(info.serverUrl ? { servers: [{ url: info.serverUrl }] } : {}),
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    security: [{ merchantKey: [] }],
    paths,
    components: {
      securitySchemes: {
        merchantKey: {
          type: 'http',
          scheme: 'bearer',
          description: "The merchant's API key: `Authorization: Bearer pk_...`",
        },
        opsKey: { type: 'http', scheme: 'bearer', description: 'The operators key (/ops)' },
      },
      schemas: { Problem: jsonSchema(problemSchema, 'output') },
    },
  };
}
export type OpenApiDocument = ReturnType<typeof buildOpenApiDocument>;

export interface OpenApiRoutesOptions extends OpenApiInfo {
  limits: PayOrderLimits;
  /** Operations of other route plugins (e.g. refunds), added after the pay-order operations. */
  operations?: ApiOperation[];
}

/** GET /openapi.json and GET /docs, without authentication. Register without a prefix. */
export const openApiRoutes: FastifyPluginAsync<OpenApiRoutesOptions> = async (app, options) => {
  const document = buildOpenApiDocument(
    [...payOrderOperations(options.limits), ...(options.operations ?? [])],
    options,
  );
  const body = JSON.stringify(document);
  const page = docsPage({ title: document.info.title, specUrl: '/openapi.json' });

  app.get('/openapi.json', async (_req, reply) =>
    reply.type('application/json; charset=utf-8').header('cache-control', 'no-cache').send(body),
  );
  app.get('/docs', async (_req, reply) =>
    reply
      .type('text/html; charset=utf-8')
      .header(
        'content-security-policy',
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'",
      )
      .send(page),
  );
};
