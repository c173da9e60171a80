// The merchant API's refunds (/v1/refunds): ask for a refund of a paid order, read refunds.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { RefundService } from '../../services/refunds';
import { merchantAuthentication, type MerchantAuthOptions } from '../auth';
import { idempotency, type IdempotencyOptions } from '../idempotency';
import { problemResponses } from '../problems';
import {
  createRefundSchema,
  listRefundsQuerySchema,
  refundIdParamSchema,
  refundListSchema,
  refundViewSchema,
} from '../schemas/refunds';

export interface RefundRoutesOptions extends MerchantAuthOptions, IdempotencyOptions {
  refunds: RefundService;
  limits: { maxAmount: number };
}

const tags = ['Refunds'];

export const refundRoutes: FastifyPluginAsyncZod<RefundRoutesOptions> = async (app, options) => {
  await app.register(merchantAuthentication, options);
  await app.register(idempotency, options);

  app.post(
    '/refunds',
    {
      schema: {
        operationId: 'createRefund',
        summary: 'Refund a paid order, partly or fully',
        description:
          'Idempotent by merchantRefundNo: the same request again answers 200 with the same refund; ' +
          'another body answers 409 REFUND_CONFLICT. Refunds of an order never add up to more than ' +
          'was paid (409 REFUND_EXCEEDS_PAYMENT); an unpaid order answers 409 ORDER_NOT_PAID.',
        tags,
        body: createRefundSchema(options.limits),
        response: {
          201: refundViewSchema.meta({
            description: 'Created; the refund then runs at the channel',
          }),
          200: refundViewSchema.meta({
            description: 'The refund this merchantRefundNo already has',
          }),
          ...problemResponses(400, 404, 409, 413, 415),
        },
      },
    },
    async (req, reply) => {
      const { created, refund } = await options.refunds.create(req.merchantId, req.body);
      return reply.status(created ? 201 : 200).send(refund);
    },
  );

  app.get(
    '/refunds/:id',
    {
      schema: {
        operationId: 'getRefund',
        summary: 'Read a refund',
        tags,
        params: refundIdParamSchema,
        response: {
          200: refundViewSchema.meta({ description: 'The refund' }),
          ...problemResponses(400, 404),
        },
      },
    },
    async (req) => options.refunds.get(req.merchantId, req.params.id),
  );

  app.get(
    '/refunds',
    {
      schema: {
        operationId: 'listRefunds',
        summary: 'List refunds, newest first',
        description:
          "Both the merchant's own refunds and those paycenter made by itself (a duplicate or late " +
          'payment returned). Filters combine with AND; `merchantRefundNo` finds one refund. ' +
          'Pagination is by cursor: pass `nextCursor` as `cursor` for the next, older page.',
        tags,
        querystring: listRefundsQuerySchema,
        response: {
          200: refundListSchema.meta({ description: 'One page of refunds' }),
          ...problemResponses(400),
        },
      },
    },
    async (req) => options.refunds.list(req.merchantId, req.query),
  );
};
