// paycenter's merchant API for TypeScript: every /v1 call typed from paycenter's own OpenAPI
// document (./schema.ts, generated), a method for each, errors as PaycenterError with the problem
// paycenter answered, and the check of a notification's signature (./notifications.ts).
import createClient from 'openapi-fetch';
import type { components, operations, paths } from './schema';

export type { components, operations, paths } from './schema';
export {
  eventIdHeader,
  NotificationRejected,
  signatureHeader,
  verifyNotification,
  type HeaderSource,
  type PaycenterEvent,
  type PaycenterEventType,
  type RejectionReason,
  type VerifyOptions,
} from './notifications';

type JsonOf<T> = T extends { content: { 'application/json': infer Body } } ? Body : never;
type Answer<Op extends keyof operations> = operations[Op]['responses'] extends { 200: infer Ok }
  ? JsonOf<Ok>
  : never;
type RequestOf<Op extends keyof operations> = operations[Op] extends {
  requestBody?: { content: { 'application/json': infer Body } };
}
  ? Body
  : never;
type QueryOf<Op extends keyof operations> = NonNullable<operations[Op]['parameters']['query']>;

export type NewPayOrder = RequestOf<'createPayOrder'>;
export type PayOrder = Answer<'getPayOrder'>;
export type PayOrderList = Answer<'listPayOrders'>;
export type PayOrderListQuery = QueryOf<'listPayOrders'>;
export type PayRequest = RequestOf<'payPayOrder'>;
export type PayAnswer = Answer<'payPayOrder'>;
export type NewRefund = RequestOf<'createRefund'>;
export type Refund = Answer<'getRefund'>;
export type RefundList = Answer<'listRefunds'>;
export type RefundListQuery = QueryOf<'listRefunds'>;
export type EventDetails = Answer<'getEvent'>;
export type EventList = Answer<'listEvents'>;
export type EventListQuery = QueryOf<'listEvents'>;
export type Redelivery = JsonOf<operations['redeliverEvent']['responses'][202]>;
export type Problem = components['schemas']['Problem'];

/** paycenter refused or failed a call: the HTTP status and the problem it answered. */
export class PaycenterError extends Error {
  constructor(
    readonly status: number,
    /** RFC 9457 problem details; `code` is stable (ALREADY_PAID, VALIDATION_FAILED, ...). */
    readonly problem: Problem | undefined,
    /** The request's ID in paycenter's logs: quote it when you ask about this call. */
    readonly requestId: string | undefined,
  ) {
    super(`paycenter answered ${status}${problem ? ` ${problem.code}: ${problem.detail}` : ''}`);
    this.name = 'PaycenterError';
  }

  get code(): string | undefined {
    return this.problem?.code;
  }
}

export interface PaycenterClientOptions {
  /** Where paycenter's API is, e.g. https://pay.example.com */
  baseUrl: string;
  /** The merchant's API key, `pk_test_…` or `pk_live_…`. */
  apiKey: string;
  /** Another fetch (a proxy's, a test's); the global one by default. */
  fetch?: typeof globalThis.fetch;
}

/** An Idempotency-Key makes a retried POST answer the first one's result instead of acting again. */
export interface Idempotent {
  idempotencyKey?: string;
}

const idempotency = ({ idempotencyKey }: Idempotent) =>
  idempotencyKey ? { 'idempotency-key': idempotencyKey } : undefined;

export function createPaycenterClient(options: PaycenterClientOptions) {
  const api = createClient<paths>({
    baseUrl: options.baseUrl.replace(/\/+$/, ''),
    headers: { authorization: `Bearer ${options.apiKey}` },
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });

  async function answered<T>(
    call: Promise<{ data?: T; error?: unknown; response: Response }>,
  ): Promise<T> {
    const { data, error, response } = await call;
    if (response.ok && data !== undefined) return data;
    const requestId = response.headers.get('request-id') ?? undefined;
    throw new PaycenterError(response.status, error as Problem | undefined, requestId);
  }

  const byId = (id: string) => ({ params: { path: { id } } });

  return {
    /** The typed openapi-fetch client itself, for anything the methods below do not cover. */
    api,

    /** Creates the order, or answers the one this merchantOrderNo already has (same request). */
    createPayOrder: (order: NewPayOrder, options: Idempotent = {}) =>
      answered(
        api.POST('/v1/pay-orders', { body: order, params: { header: idempotency(options) } }),
      ),
    getPayOrder: (id: string) => answered(api.GET('/v1/pay-orders/{id}', byId(id))),
    listPayOrders: (query: PayOrderListQuery = {}) =>
      answered(api.GET('/v1/pay-orders', { params: { query } })),
    /** Opens a channel order for the payer (or answers the open one), to hand them to. */
    pay: (id: string, request: PayRequest, options: Idempotent = {}) =>
      answered(
        api.POST('/v1/pay-orders/{id}/pay', {
          body: request,
          params: { path: { id }, header: idempotency(options) },
        }),
      ),
    /** Asks the channel now ("I have paid") and answers the fresh order. */
    syncPayOrder: (id: string) => answered(api.POST('/v1/pay-orders/{id}/sync', byId(id))),
    closePayOrder: (id: string) => answered(api.POST('/v1/pay-orders/{id}/close', byId(id))),

    createRefund: (refund: NewRefund, options: Idempotent = {}) =>
      answered(api.POST('/v1/refunds', { body: refund, params: { header: idempotency(options) } })),
    getRefund: (id: string) => answered(api.GET('/v1/refunds/{id}', byId(id))),
    listRefunds: (query: RefundListQuery = {}) =>
      answered(api.GET('/v1/refunds', { params: { query } })),

    listEvents: (query: EventListQuery = {}) =>
      answered(api.GET('/v1/events', { params: { query } })),
    /** One event with every try to deliver it. */
    getEvent: (id: string) => answered(api.GET('/v1/events/{id}', byId(id))),
    /** Sends the event again (a FAILED one too); its try shows in getEvent's attempts. */
    redeliverEvent: (id: string, options: Idempotent = {}) =>
      answered(
        api.POST('/v1/events/{id}/redeliver', {
          params: { path: { id }, header: idempotency(options) },
        }),
      ),
  };
}

export type PaycenterClient = ReturnType<typeof createPaycenterClient>;
