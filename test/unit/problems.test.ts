// Problems as clients read them: a schema's issues become the same 400 the handlers answered,
// every problem has its Stripe-style type, and a channel's decline code rides along.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Fastify from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  problemTypeOf,
  registerProblemHandlers,
  serializerCompiler,
  validatorCompiler,
} from '../../src/api/problems';
import { DomainError } from '../../src/domain/errors';

const routes: FastifyPluginAsyncZod = async (app) => {
  app.post(
    '/orders/:id',
    {
      schema: {
        params: z.object({ id: z.string().regex(/^po_/, 'is not a pay order ID') }),
        querystring: z
          .object({ limit: z.coerce.number().max(100, 'must be at most 100') })
          .partial(),
        body: z
          .object({ amount: z.number().int('must be whole'), note: z.string().optional() })
          .strict(),
        response: { 200: z.object({ amount: z.number() }) },
      },
    },
    async (req) => ({ amount: req.body.amount, extra: 'kept' }),
  );
  app.post('/declined', { schema: { body: z.object({}).strict() } }, async () => {
    throw new DomainError('PAYMENT_DECLINED', 'channel bankcard declined the payment', [], '64');
  });
};

async function app() {
  const server = Fastify();
  server.setValidatorCompiler(validatorCompiler);
  server.setSerializerCompiler(serializerCompiler);
  registerProblemHandlers(server);
  await server.register(routes);
  return server;
}

describe('problems', () => {
  it('answers an invalid part 400 VALIDATION_FAILED naming each field where it is', async () => {
    const server = await app();
    const body = await server.inject({
      method: 'POST',
      url: '/orders/x?limit=101',
      payload: { amount: 1.5, colour: 'red' },
    });
    assert.equal(body.statusCode, 400);
    assert.match(body.headers['content-type'] as string, /^application\/problem\+json/);
    const problem = body.json();
    assert.equal(problem.type, 'invalid_request_error');
    assert.equal(problem.code, 'VALIDATION_FAILED');
    // Path first, as the handlers parsed it before.
    assert.deepEqual(problem.errors, [{ field: 'path.id', message: 'is not a pay order ID' }]);
    assert.equal(problem.detail, 'invalid path: path.id is not a pay order ID');

    const fields = (
      await server.inject({
        method: 'POST',
        url: '/orders/po_1',
        payload: { amount: 1.5, colour: 1 },
      })
    ).json().errors;
    assert.deepEqual(fields, [
      { field: 'body.amount', message: 'must be whole' },
      { field: 'body', message: 'unknown field(s): colour' },
    ]);
    const query = await server.inject({
      method: 'POST',
      url: '/orders/po_1?limit=101',
      payload: { amount: 5 },
    });
    assert.deepEqual(query.json().errors, [
      { field: 'query.limit', message: 'must be at most 100' },
    ]);
    await server.close();
  });

  it('takes a missing body as an empty one, and never strips an answer', async () => {
    const server = await app();
    const none = await server.inject({ method: 'POST', url: '/declined' });
    assert.equal(none.json().code, 'PAYMENT_DECLINED');
    const ok = await server.inject({ method: 'POST', url: '/orders/po_1', payload: { amount: 5 } });
    assert.deepEqual(ok.json(), { amount: 5, extra: 'kept' });
    await server.close();
  });

  it("carries the channel's decline code, typed channel_error", async () => {
    const server = await app();
    const declined = await server.inject({ method: 'POST', url: '/declined', payload: {} });
    assert.equal(declined.statusCode, 402);
    assert.equal(declined.json().type, 'channel_error');
    assert.equal(declined.json().decline_code, '64');
    await server.close();
  });

  it('types every problem by its code, else by its status', () => {
    assert.equal(problemTypeOf(401, 'UNAUTHENTICATED'), 'authentication_error');
    assert.equal(problemTypeOf(422, 'IDEMPOTENCY_KEY_REUSED'), 'idempotency_error');
    assert.equal(problemTypeOf(409, 'IDEMPOTENCY_KEY_IN_USE'), 'idempotency_error');
    assert.equal(problemTypeOf(429, 'RATE_LIMITED'), 'rate_limit_error');
    assert.equal(problemTypeOf(502, 'CHANNEL_REJECTED'), 'channel_error');
    assert.equal(problemTypeOf(409, 'PAY_ORDER_CONFLICT'), 'invalid_request_error');
    assert.equal(problemTypeOf(503, 'TEMPORARILY_UNAVAILABLE'), 'api_error');
    assert.equal(problemTypeOf(500, 'INTERNAL'), 'api_error');
  });
});
