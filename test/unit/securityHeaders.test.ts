// The security headers worked out once are the ones helmet sets per request, on every answer.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import Fastify from 'fastify';
import helmet from 'helmet';
import {
  installSecurityHeaders,
  securityHeaderOptions,
  securityHeaders,
} from '../../src/api/securityHeaders';

/** The headers helmet's own middleware sets on a real response, run for one request. */
async function helmetPerRequest(): Promise<http.IncomingHttpHeaders> {
  const middleware = helmet(securityHeaderOptions);
  const server = http.createServer((req, res) => {
    res.setHeader('X-Powered-By', 'something');
    middleware(req, res, () => res.end('ok'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    return await new Promise((resolve, reject) =>
      http.get(`http://127.0.0.1:${port}/`, (res) => resolve(res.headers)).on('error', reject),
    );
  } finally {
    server.close();
  }
}

describe('security headers', () => {
  it('are what helmet sets on a response, worked out once', async () => {
    const expected = await helmetPerRequest();
    const table = securityHeaders(securityHeaderOptions);
    assert.ok(Object.keys(table).length >= 10, Object.keys(table).join(', '));
    for (const [name, value] of Object.entries(table)) assert.equal(value, expected[name], name);
    assert.equal(expected['x-powered-by'], undefined);
    assert.match(
      table['content-security-policy']!,
      /default-src 'self';.*form-action 'self' http: https:/,
    );
  });

  it('go on every answer: a route, a refusal in a hook, a missing route, a thrown error', async () => {
    const app = Fastify();
    installSecurityHeaders(app);
    app.addHook('preHandler', async (req, reply) => {
      if (req.url === '/refused') return reply.code(401).send({ refused: true });
    });
    app.get('/ok', async () => ({ ok: true }));
    app.get('/refused', async () => ({ ok: true }));
    app.get('/thrown', async () => {
      throw new Error('broken');
    });
    const table = securityHeaders(securityHeaderOptions);
    for (const [url, status] of [
      ['/ok', 200],
      ['/refused', 401],
      ['/missing', 404],
      ['/thrown', 500],
    ] as const) {
      const answer = await app.inject({ method: 'GET', url });
      assert.equal(answer.statusCode, status, url);
      for (const [name, value] of Object.entries(table)) {
        assert.equal(answer.headers[name], value, `${url} ${name}`);
      }
    }
    await app.close();
  });

  it('let a route set a policy of its own', async () => {
    const app = Fastify();
    installSecurityHeaders(app);
    app.get('/page', async (_req, reply) =>
      reply.header('content-security-policy', "default-src 'none'").send('page'),
    );
    const answer = await app.inject({ method: 'GET', url: '/page' });
    assert.equal(answer.headers['content-security-policy'], "default-src 'none'");
    assert.equal(answer.headers['x-content-type-options'], 'nosniff');
    await app.close();
  });
});
