// The merchant API (/v1): create, read and pay pay orders.
import type { FastifyPluginAsync } from 'fastify';
import { createPayOrderSchema, idParamSchema, payRequestSchema } from '../../domain/schemas';
import type { Db } from '../../db/client';
import type { PayOrderService } from '../../services/payOrders';
import { authenticateMerchant } from '../auth';
import { parseInput } from '../problems';

export interface MerchantRoutesOptions {
  db: Db;
  payOrders: PayOrderService;
  limits: { maxAmount: number; maxExpiresInSeconds: number };
}

export const merchantRoutes: FastifyPluginAsync<MerchantRoutesOptions> = async (app, options) => {
  const createSchema = createPayOrderSchema(options.limits);

  app.decorateRequest('merchantId', '');
  app.addHook('onRequest', async (req) => {
    req.merchantId = await authenticateMerchant(options.db, req);
  });

  app.post('/pay-orders', async (req, reply) => {
    const body = parseInput(createSchema, req.body, 'body');
    const { created, payOrder } = await options.payOrders.create(req.merchantId, body);
    return reply.status(created ? 201 : 200).send(payOrder);
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

declare module 'fastify' {
  interface FastifyRequest {
    merchantId: string;
  }
}
