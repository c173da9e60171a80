// The OpenAPI document is generated from the schemas that validate: it looks like OpenAPI 3.1,
// covers the merchant operations, and moves when a schema or a configured limit moves.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Fastify from 'fastify';
import { z } from 'zod';
import { registerProblemHandlers } from '../../src/api/problems';
import {
  buildOpenApiDocument,
  openApiRoutes,
  payOrderOperations,
  refundOperations,
  type ApiOperation,
} from '../../src/api/openapi';
import { merchantRoutes } from '../../src/api/routes/merchant';
import { refundRoutes } from '../../src/api/routes/refunds';
import { loadConfig } from '../../src/config';
import { createPayOrderSchema, listPayOrdersQuerySchema } from '../../src/domain/schemas';

type Json = any;

const config = loadConfig({});
const limits = {
  maxAmount: config.PAY_ORDER_MAX_AMOUNT,
  maxExpiresInSeconds: config.PAY_ORDER_MAX_EXPIRES_SECONDS,
};
const methods = ['get', 'post', 'put', 'patch', 'delete'];

function documentFor(l = limits, extra: ApiOperation[] = []): Json {
  return JSON.parse(JSON.stringify(buildOpenApiDocument([...payOrderOperations(l), ...extra])));
}

describe('the OpenAPI document', () => {
  const doc = documentFor();

  it('is OpenAPI 3.1 with operations and responses on every path', () => {
    assert.match(doc.openapi, /^3\.1\.\d+$/);
    assert.equal(typeof doc.info.title, 'string');
    assert.equal(typeof doc.info.version, 'string');
    const paths = Object.keys(doc.paths);
    assert.deepEqual(paths.sort(), [
      '/v1/pay-orders',
      '/v1/pay-orders/{id}',
      '/v1/pay-orders/{id}/close',
      '/v1/pay-orders/{id}/pay',
      '/v1/pay-orders/{id}/sync',
    ]);
    const operationIds = new Set<string>();
    for (const path of paths) {
      assert.ok(path.startsWith('/'), path);
      const operations = Object.entries(doc.paths[path]);
      assert.ok(operations.length > 0, `${path} has operations`);
      for (const [method, op] of operations as [string, Json][]) {
        assert.ok(methods.includes(method), `${path} ${method}`);
        assert.ok(op.operationId && !operationIds.has(op.operationId), op.operationId);
        operationIds.add(op.operationId);
        assert.ok(Object.keys(op.responses).length > 0, `${method} ${path} has responses`);
        for (const [status, response] of Object.entries<Json>(op.responses)) {
          assert.match(status, /^[1-5]\d\d$/);
          assert.equal(typeof response.description, 'string');
          if (Number(status) >= 400) {
            assert.deepEqual(response.content['application/problem+json'].schema, {
              $ref: '#/components/schemas/Problem',
            });
          }
        }
        // Every {param} in the path is a required path parameter, and nothing else is.
        const inPath = [...path.matchAll(/{([^}]+)}/g)].map((m) => m[1]);
        const declared = op.parameters.filter((p: Json) => p.in === 'path');
        assert.deepEqual(
          declared.map((p: Json) => p.name),
          inPath,
        );
        assert.ok(declared.every((p: Json) => p.required === true));
        assert.deepEqual(op.security, [{ merchantKey: [] }]);
        assert.ok(op.responses['401'], `${method} ${path} answers 401`);
      }
    }
    assert.deepEqual(doc.components.securitySchemes.merchantKey, {
      type: 'http',
      scheme: 'bearer',
      description: doc.components.securitySchemes.merchantKey.description,
    });
    assert.ok(doc.components.schemas.Problem.properties.code);
    // Embedded schemas carry no $schema of their own (the dialect is the document's).
    assert.ok(!JSON.stringify(doc.paths).includes('"$schema"'));
  });

  it('documents Idempotency-Key on every merchant POST, and only there', () => {
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item as Record<string, Json>)) {
        const names = (op.parameters as { name: string }[]).map((p) => p.name);
        assert.equal(names.includes('Idempotency-Key'), method === 'post', `${method} ${path}`);
      }
    }
  });

  it('describes the create request as the validator checks it', () => {
    const schema = doc.paths['/v1/pay-orders'].post.requestBody.content['application/json'].schema;
    assert.equal(schema.type, 'object');
    for (const field of ['merchantOrderNo', 'amount', 'currency', 'subject']) {
      assert.ok(schema.required.includes(field), `${field} is required`);
    }
    assert.ok(!schema.required.includes('notifyUrl'));
    assert.equal(schema.properties.amount.type, 'integer');
    assert.equal(schema.additionalProperties, false);
    assert.ok(schema.properties.currency.enum.includes('CNY'));
    // The configured limit is the document's maximum.
    assert.equal(schema.properties.amount.maximum, config.PAY_ORDER_MAX_AMOUNT);
    assert.equal(schema.properties.expiresInSeconds.maximum, config.PAY_ORDER_MAX_EXPIRES_SECONDS);
  });

  it('follows the schemas: another limit or another schema changes the document', () => {
    const smaller = documentFor({ maxAmount: 5_000, maxExpiresInSeconds: 60 });
    const create =
      smaller.paths['/v1/pay-orders'].post.requestBody.content['application/json'].schema;
    assert.equal(create.properties.amount.maximum, 5_000);
    assert.equal(create.properties.expiresInSeconds.maximum, 60);
    // The same schema object validates: what the document says is what parsing enforces.
    const validator = createPayOrderSchema({ maxAmount: 5_000, maxExpiresInSeconds: 60 });
    const base = { merchantOrderNo: 'o-1', currency: 'CNY', subject: 'x' };
    assert.ok(validator.safeParse({ ...base, amount: 5_000 }).success);
    assert.ok(!validator.safeParse({ ...base, amount: 5_001 }).success);
    assert.ok(!validator.safeParse({ ...base, amount: 1.5 }).success);
    assert.deepEqual(z.toJSONSchema(validator, { io: 'input' }).required, create.required);
  });

  it('documents the list query parameters from the query schema', () => {
    const list = doc.paths['/v1/pay-orders'].get;
    const byName = Object.fromEntries(list.parameters.map((p: Json) => [p.name, p]));
    assert.deepEqual(Object.keys(byName).sort(), [
      'createdFrom',
      'createdTo',
      'cursor',
      'limit',
      'merchantOrderNo',
      'needsAttention',
      'status',
    ]);
    for (const p of list.parameters) {
      assert.equal(p.in, 'query');
      assert.equal(p.required, false);
    }
    assert.deepEqual(byName.status.schema.enum, ['CREATED', 'PAYING', 'SUCCEEDED', 'CLOSED']);
    assert.deepEqual(byName.needsAttention.schema.enum, ['true', 'false']);
    assert.equal(byName.limit.schema.type, 'integer');
    assert.equal(byName.limit.schema.minimum, 1);
    assert.equal(byName.limit.schema.maximum, 100);
    assert.equal(byName.limit.schema.default, 20);
    assert.equal(byName.createdFrom.schema.format, 'date-time');
    // And the validator agrees with the document's bounds.
    assert.ok(!listPayOrdersQuerySchema.safeParse({ limit: '101' }).success);
    assert.equal(listPayOrdersQuerySchema.parse({}).limit, 20);
    const page = list.responses['200'].content['application/json'].schema;
    assert.deepEqual(page.required.sort(), ['items', 'nextCursor']);
  });

  it('takes other routes’ operations and refuses a duplicate', () => {
    const refunds: ApiOperation = {
      method: 'post',
      path: '/v1/refunds',
      operationId: 'createRefund',
      summary: 'Refund a paid order',
      body: z.object({ payOrderId: z.string(), amount: z.number().int() }).strict(),
      responses: { 201: { description: 'Created' } },
      problems: [400, 404],
    };
    const doc2 = documentFor(limits, [refunds]);
    assert.equal(doc2.paths['/v1/refunds'].post.operationId, 'createRefund');
    assert.throws(() => buildOpenApiDocument([...payOrderOperations(limits), refunds, refunds]));
  });
});

describe('the document and the routes', () => {
  it('describes every merchant and refund route, and nothing the routes do not serve', async () => {
    const app = Fastify();
    const served: string[] = [];
    app.addHook('onRoute', (route) => {
      const routeMethods = Array.isArray(route.method) ? route.method : [route.method];
      for (const method of routeMethods) {
        if (method === 'HEAD') continue;
        served.push(`${method.toLowerCase()} ${route.url.replace(/:(\w+)/g, '{$1}')}`);
      }
    });
    // The handlers never run here; the services are not needed.
    await app.register(merchantRoutes, {
      prefix: '/v1',
      db: {} as never,
      mode: 'test',
      idempotencyLeaseSeconds: 60,
      idempotencyKeyRetentionSeconds: 86_400,
      payOrders: {} as never,
      limits,
    });
    await app.register(refundRoutes, {
      prefix: '/v1',
      db: {} as never,
      mode: 'test',
      idempotencyLeaseSeconds: 60,
      idempotencyKeyRetentionSeconds: 86_400,
      refunds: {} as never,
      limits,
    });
    await app.ready();
    const doc = documentFor(limits, refundOperations(limits));
    const described = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.keys(item as object).map((method) => `${method} ${path}`),
    );
    assert.deepEqual(served.sort(), described.sort());
    await app.close();
  });
});

describe('GET /openapi.json and GET /docs', () => {
  it('serves the document and an offline reference page without a key', async () => {
    const app = Fastify();
    registerProblemHandlers(app);
    await app.register(openApiRoutes, { limits });
    const json = await app.inject({ method: 'GET', url: '/openapi.json' });
    assert.equal(json.statusCode, 200);
    assert.match(json.headers['content-type'] as string, /^application\/json/);
    assert.equal(json.json().openapi, '3.1.0');
    assert.ok(json.json().paths['/v1/pay-orders'].get);

    const page = await app.inject({ method: 'GET', url: '/docs' });
    assert.equal(page.statusCode, 200);
    assert.match(page.headers['content-type'] as string, /^text\/html/);
    assert.match(page.body, /\/openapi\.json/);
    // Nothing is fetched from another origin.
    assert.ok(!/(src|href)="https?:/.test(page.body));
    assert.ok(!/cdn|unpkg|jsdelivr/i.test(page.body));
    await app.close();
  });
});
