// The merchant API (/v1): create, list, read and pay pay orders. Each route declares its schemas,
// which validate the request and make its part of the OpenAPI document.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { PayOrderService } from '../../services/payOrders';
import { merchantAuthentication, type MerchantAuthOptions } from '../auth';
import { idempotency, type IdempotencyOptions } from '../idempotency';
import { problemResponses } from '../problems';
import {
  createPayOrderSchema,
  idParamSchema,
  listPayOrdersQuerySchema,
  payAnswerSchema,
  payOrderListSchema,
  payOrderSummarySchema,
  payOrderViewSchema,
  payRequestSchema,
} from '../schemas/payOrders';

export interface MerchantRoutesOptions extends MerchantAuthOptions, IdempotencyOptions {
  payOrders: PayOrderService;
  limits: { maxAmount: number; maxExpiresInSeconds: number };
}

const tags = ['Pay orders'];

export const merchantRoutes: FastifyPluginAsyncZod<MerchantRoutesOptions> = async (
  app,
  options,
) => {
  await app.register(merchantAuthentication, options);
  await app.register(idempotency, options);

  app.post(
    '/pay-orders',
    {
      schema: {
        operationId: 'createPayOrder',
        summary: 'Create a pay order',
        description:
          'Idempotent by merchantOrderNo: the same request again answers 200 with the same order; ' +
          'another amount or currency answers 409 PAY_ORDER_CONFLICT. Amounts are integers in minor units. ' +
          'A currency no channel of this deployment takes answers 422 CURRENCY_NOT_ACCEPTED, naming those it takes.',
        tags,
        body: createPayOrderSchema(options.limits),
        response: {
          201: payOrderSummarySchema.meta({ description: 'Created' }),
          200: payOrderSummarySchema.meta({
            description: 'The order this merchantOrderNo already has',
          }),
          ...problemResponses(400, 409, 413, 415, 422),
        },
      },
    },
    async (req, reply) => {
      const { created, payOrder } = await options.payOrders.create(req.merchantId, req.body);
      return reply.status(created ? 201 : 200).send(payOrder);
    },
  );

  app.get(
    '/pay-orders',
    {
      schema: {
        operationId: 'listPayOrders',
        summary: 'List pay orders, newest first',
        description:
          'Filters combine with AND. Pagination is by cursor: pass `nextCursor` as `cursor` for the ' +
          'next, older page; orders created meanwhile never shift later pages.',
        tags,
        querystring: listPayOrdersQuerySchema,
        response: {
          200: payOrderListSchema.meta({ description: 'One page of orders' }),
          ...problemResponses(400),
        },
      },
    },
    async (req) => options.payOrders.list(req.merchantId, req.query),
  );

  app.get(
    '/pay-orders/:id',
    {
      schema: {
        operationId: 'getPayOrder',
        summary: 'Read a pay order with its channel orders, refunds and notifications',
        tags,
        params: idParamSchema,
        response: {
          200: payOrderViewSchema.meta({ description: 'The pay order' }),
          ...problemResponses(400, 404),
        },
      },
    },
    async (req) => options.payOrders.get(req.merchantId, req.params.id),
  );

  app.post(
    '/pay-orders/:id/pay',
    {
      schema: {
        operationId: 'payPayOrder',
        summary: 'Open (or reuse) a channel order to pay with',
        description:
          'At most one channel order is open per pay order. Bank-card quick pay answers the outcome; ' +
          'a declined card is 402 PAYMENT_DECLINED, a channel that refuses the order 502 ' +
          'CHANNEL_REJECTED, each with the channel’s own `decline_code` where it gave one.',
        tags,
        params: idParamSchema,
        body: payRequestSchema,
        response: {
          200: payAnswerSchema.meta({ description: 'The channel order' }),
          ...problemResponses(400, 402, 404, 409, 502, 503),
        },
      },
    },
    async (req) => options.payOrders.pay(req.merchantId, req.params.id, req.body),
  );

  app.post(
    '/pay-orders/:id/sync',
    {
      schema: {
        operationId: 'syncPayOrder',
        summary: 'Ask the channel now and answer the fresh pay order',
        tags,
        params: idParamSchema,
        response: {
          200: payOrderViewSchema.meta({ description: 'The pay order' }),
          ...problemResponses(400, 404, 409, 503),
        },
      },
    },
    async (req) => options.payOrders.sync(req.merchantId, req.params.id),
  );

  app.post(
    '/pay-orders/:id/close',
    {
      schema: {
        operationId: 'closePayOrder',
        summary: 'Close the pay order (its open channel order first)',
        description: 'A paid order stays paid: closing it answers 409 ALREADY_PAID.',
        tags,
        params: idParamSchema,
        response: {
          200: payOrderViewSchema.meta({ description: 'The pay order' }),
          ...problemResponses(400, 404, 409, 503),
        },
      },
    },
    async (req) => options.payOrders.close(req.merchantId, req.params.id),
  );
};
