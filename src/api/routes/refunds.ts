// The merchant API's refunds (/v1/refunds): ask for a refund of a paid order, read refunds.
import type { FastifyPluginAsync } from 'fastify';
import { createRefundSchema, refundIdParamSchema, refundLookupSchema } from '../../domain/schemas';
import type { RefundService } from '../../services/refunds';
import { requireMerchant, type MerchantAuthOptions } from '../auth';
import { parseInput } from '../problems';

export interface RefundRoutesOptions extends MerchantAuthOptions {
  refunds: RefundService;
  limits: { maxAmount: number };
}

export const refundRoutes: FastifyPluginAsync<RefundRoutesOptions> = async (app, options) => {
  const createSchema = createRefundSchema(options.limits);
  requireMerchant(app, options);

  app.post('/refunds', async (req, reply) => {
    const body = parseInput(createSchema, req.body, 'body');
    const { created, refund } = await options.refunds.create(req.merchantId, body);
    return reply.status(created ? 201 : 200).send(refund);
  });

  app.get('/refunds/:id', async (req) => {
    const { id } = parseInput(refundIdParamSchema, req.params, 'path');
    return options.refunds.get(req.merchantId, id);
  });

  app.get('/refunds', async (req) => {
    const { merchantRefundNo } = parseInput(refundLookupSchema, req.query, 'query');
    return options.refunds.getByMerchantRefundNo(req.merchantId, merchantRefundNo);
  });
};
