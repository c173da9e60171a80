// The merchant API (/v1): create, list, read and pay pay orders. Every operation here is also
// described in src/api/openapi.ts from the same schemas.
import type { FastifyPluginAsync } from 'fastify';
import {
  createPayOrderSchema,
  idParamSchema,
  listPayOrdersQuerySchema,
  payRequestSchema,
} from '../../domain/schemas';
import type { PayOrderService } from '../../services/payOrders';
import { requireMerchant, type MerchantAuthOptions } from '../auth';
import { parseInput } from '../problems';

export interface MerchantRoutesOptions extends MerchantAuthOptions {
  payOrders: PayOrderService;
  limits: { maxAmount: number; maxExpiresInSeconds: number };
}

export const merchantRoutes: FastifyPluginAsync<MerchantRoutesOptions> = async (app, options) => {
  const createSchema = createPayOrderSchema(options.limits);

  requireMerchant(app, options);

  app.post('/pay-orders', async (req, reply) => {
    const body = parseInput(createSchema, req.body, 'body');
    const { created, payOrder } = await options.payOrders.create(req.merchantId, body);
    return reply.status(created ? 201 : 200).send(payOrder);
  });

  app.get('/pay-orders', async (req) => {
    const query = parseInput(listPayOrdersQuerySchema, req.query, 'query');
    return options.payOrders.list(req.merchantId, query);
  });

  app.get('/pay-orders/:id', async (req) => {
    const { id } = parseInput(idParamSchema, req.params, 'path');
    return options.payOrders.get(req.merchantId, id);
  });

  app.post('/pay-orders/:id/pay', async (req) => {
    const { id } = parseInput(idParamSchema, req.params, 'path');
    const body = parseInput(payRequestSchema, req.body, 'body');
    return options.payOrders.pay(req.merchantId, id, body);
  });

  app.post('/pay-orders/:id/sync', async (req) => {
    const { id } = parseInput(idParamSchema, req.params, 'path');
    return options.payOrders.sync(req.merchantId, id);
  });

  app.post('/pay-orders/:id/close', async (req) => {
    const { id } = parseInput(idParamSchema, req.params, 'path');
    return options.payOrders.close(req.merchantId, id);
  });
};
