// The OpenAPI document is generated from the schemas the routes declare: every route the API
// registers is in it (a route without a schema fails here), it has the shape of OpenAPI 3.1, and
// it moves when a schema or a configured limit moves.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RouteOptions } from 'fastify';
import { z } from 'zod';
import { buildApi } from '../../src/api/app';
import { createPayOrderSchema, listPayOrdersQuerySchema } from '../../src/api/schemas/payOrders';
import { loadConfig } from '../../src/config';
import { unwiredApiDeps } from '../support/apiDeps';

type Json = any;

const config = loadConfig({});
const limits = {
  maxAmount: config.PAY_ORDER_MAX_AMOUNT,
  maxExpiresInSeconds: config.PAY_ORDER_MAX_EXPIRES_SECONDS,
};
const methods = ['get', 'post', 'put', 'patch', 'delete'];

/** The whole API as the process builds it; the handlers never run, so no service is needed. */
function api(apiLimits = limits) {
  const deps = unwiredApiDeps({ limits: apiLimits });
  const app = buildApi(deps);
  const routes: RouteOptions[] = [];
  app.addHook('onRoute', (route) => {
    routes.push(route);
  });
  return { app, routes };
}

async function documentOf(apiLimits = limits): Promise<Json> {
  const { app } = api(apiLimits);
  await app.ready();
  const answer = await app.inject({ method: 'GET', url: '/openapi.json' });
  await app.close();
  return answer.json();
}

const openApiPath = (url: string) => url.replace(/:(\w+)/g, '{$1}');

describe('the OpenAPI document and the routes', () => {
  const built = api();
  let doc: Json;
  before(async () => {
    await built.app.ready();
    doc = (await built.app.inject({ method: 'GET', url: '/openapi.json' })).json();
  });
  after(() => built.app.close());

  it('describes every route the API registers, each from its own schema', () => {
    const served = built.routes.flatMap((route) =>
      (Array.isArray(route.method) ? route.method : [route.method])
        .filter((method) => method !== 'HEAD')
        .map((method) => ({ route, key: `${method.toLowerCase()} ${openApiPath(route.url)}` })),
    );
    for (const { route, key } of served) {
      // A route without a schema would still be listed, but with nothing to say.
      assert.ok(route.schema?.response, `${key} declares its answers`);
      assert.ok(route.schema.operationId, `${key} has an operationId`);
      if (route.url.includes(':')) assert.ok(route.schema.params, `${key} declares its path`);
    }
    const described = Object.entries<Json>(doc.paths).flatMap(([path, item]) =>
      Object.keys(item).map((method) => `${method} ${path}`),
    );
    assert.deepEqual(described.sort(), served.map((s) => s.key).sort());
    // Every audience is there.
    const audiences = ['/v1/', '/ops/', '/webhooks/', '/cashier/', '/docs'];
    for (const prefix of [...audiences, '/livez', '/readyz', '/healthz', '/metrics']) {
      assert.ok(
        described.some((d) => d.split(' ')[1]!.startsWith(prefix)),
        `${prefix} is described`,
      );
    }
  });

  it('is OpenAPI 3.1 in shape: operations, parameters, responses and security', () => {
    assert.match(doc.openapi, /^3\.1\.\d+$/);
    assert.equal(typeof doc.info.title, 'string');
    assert.equal(typeof doc.info.version, 'string');
    const operationIds = new Set<string>();
    for (const [path, item] of Object.entries<Json>(doc.paths)) {
      assert.ok(path.startsWith('/'), path);
      for (const [method, op] of Object.entries<Json>(item)) {
        const key = `${method} ${path}`;
        assert.ok(methods.includes(method), key);
        assert.ok(op.operationId && !operationIds.has(op.operationId), op.operationId);
        operationIds.add(op.operationId);
        assert.ok(Object.keys(op.responses).length > 0, `${key} has responses`);
        for (const [status, response] of Object.entries<Json>(op.responses)) {
          assert.match(status, /^([1-5]\d\d|default)$/, key);
          assert.equal(typeof response.description, 'string', `${key} ${status}`);
          const problem = response.content?.['application/problem+json'];
          if (problem) assert.deepEqual(problem.schema, { $ref: '#/components/schemas/Problem' });
        }
        // Every {param} in the path is a required path parameter, and nothing else is.
        const inPath = [...path.matchAll(/{([^}]+)}/g)].map((m) => m[1]);
        const declared = (op.parameters ?? []).filter((p: Json) => p.in === 'path');
        assert.deepEqual(declared.map((p: Json) => p.name).sort(), inPath.sort(), key);
        assert.ok(
          declared.every((p: Json) => p.required === true),
          key,
        );
        for (const parameter of op.parameters ?? []) {
          assert.ok(['path', 'query', 'header'].includes(parameter.in), key);
          assert.equal(typeof parameter.schema, 'object', `${key} ${parameter.name}`);
        }
        // Who may call it, and the 401 of those that need a key. The console's pages need its
        // session (but sign-in and the style sheet); its forms answer 401 without one, its pages
        // send to sign-in instead.
        const console = path.startsWith('/ops/console');
        const consolePublic = ['/ops/console/login', '/ops/console/assets/console.css'];
        const scheme = path.startsWith('/v1/')
          ? 'merchantKey'
          : console
            ? consolePublic.includes(path)
              ? undefined
              : 'opsConsoleSession'
            : path.startsWith('/ops/')
              ? 'opsKey'
              : undefined;
        assert.deepEqual(op.security, scheme ? [{ [scheme]: [] }] : [], key);
        assert.equal(
          Boolean(op.responses['401']),
          console ? method === 'post' : Boolean(scheme) || path.startsWith('/webhooks/'),
          `${key} 401`,
        );
      }
    }
    assert.deepEqual(doc.components.securitySchemes.merchantKey, {
      type: 'http',
      scheme: 'bearer',
      description: doc.components.securitySchemes.merchantKey.description,
    });
    const problem = doc.components.schemas.Problem;
    for (const field of [
      'type',
      'code',
      'decline_code',
      'status',
      'detail',
      'errors',
      'requestId',
    ]) {
      assert.ok(problem.properties[field], `a problem has ${field}`);
    }
    assert.ok(problem.properties.type.enum.includes('invalid_request_error'));
    // Embedded schemas carry no $schema of their own (the dialect is the document's).
    assert.ok(!JSON.stringify(doc.paths).includes('"$schema"'));
  });

  it('documents Idempotency-Key on every merchant POST, and only there', () => {
    for (const [path, item] of Object.entries<Json>(doc.paths)) {
      for (const [method, op] of Object.entries<Json>(item)) {
        const names = (op.parameters ?? []).map((p: { name: string }) => p.name.toLowerCase());
        const merchantPost = path.startsWith('/v1/') && method === 'post';
        assert.equal(names.includes('idempotency-key'), merchantPost, `${method} ${path}`);
        if (merchantPost) assert.ok(op.responses['422'], `${method} ${path} answers 422`);
      }
    }
  });

  it('describes the create request as the validator checks it, and leaves answers open', () => {
    const create = doc.paths['/v1/pay-orders'].post;
    const schema = create.requestBody.content['application/json'].schema;
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
    // Answers may gain fields.
    const created = create.responses['201'].content['application/json'].schema;
    assert.ok(created.properties.cashierUrl);
    assert.equal(created.additionalProperties, undefined);
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
});

describe('the document follows the schemas', () => {
  it('another limit or another schema changes the document', async () => {
    const smaller = await documentOf({ maxAmount: 5_000, maxExpiresInSeconds: 60 });
    const create =
      smaller.paths['/v1/pay-orders'].post.requestBody.content['application/json'].schema;
    assert.equal(create.properties.amount.maximum, 5_000);
    assert.equal(create.properties.expiresInSeconds.maximum, 60);
    // The same schema validates: what the document says is what parsing enforces.
    const validator = createPayOrderSchema({ maxAmount: 5_000, maxExpiresInSeconds: 60 });
    const base = { merchantOrderNo: 'o-1', currency: 'CNY', subject: 'x' };
    assert.ok(validator.safeParse({ ...base, amount: 5_000 }).success);
    assert.ok(!validator.safeParse({ ...base, amount: 5_001 }).success);
    assert.ok(!validator.safeParse({ ...base, amount: 1.5 }).success);
    assert.deepEqual(z.toJSONSchema(validator, { io: 'input' }).required, create.required);
  });
});

describe('GET /openapi.json and GET /docs', () => {
  it('serves the document and an offline reference page without a key', async () => {
    const { app } = api();
    await app.ready();
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
