// Every API request has an ID and leaves one log line. The ID is the caller's `Request-Id` (or
// `X-Request-Id`) when it is a short plain token, so a merchant's or a proxy's ID follows the
// request into our logs; anything else (too long, spaces, control characters that could forge log
// lines) is replaced by one we make. It goes back as `Request-Id`, in problem+json as `requestId`,
// and on every log line of the request. The line names the route's pattern, never the URL: cashier
// links carry their token in the query, and neither keys nor bodies are ever logged.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { probePaths } from '../health';

export const requestIdHeader = 'request-id';
const acceptedHeaders = [requestIdHeader, 'x-request-id'];
/** Letters, digits and `._:-`, at most 64: what IDs of proxies and tracing tools look like. */
const plainToken = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;

/** Fastify's `genReqId`: the caller's ID when it is a plain token, else a new one. */
export function requestIdOf(req: IncomingMessage): string {
  for (const name of acceptedHeaders) {
    const given = req.headers[name];
    if (typeof given === 'string' && plainToken.test(given)) return given;
  }
  return randomUUID();
}

/**
 * Answers every request with its ID and logs each at info when it ends (probes that pass at
 * debug): method, route pattern, status, duration, and who called when it was authenticated.
 * Call before the plugins that may refuse a request, so their answers carry the header too.
 */
export function installRequestLogs(app: FastifyInstance): void {
  app.addHook('onRequest', async (req, reply) => {
    reply.header(requestIdHeader, req.id);
  });
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url;
    const status = reply.statusCode;
    const line = {
      method: req.method,
      // Unmatched requests (404) have no pattern; their path is the caller's, not logged.
      route,
      status,
      durationMs: Math.round(reply.elapsedTime * 10) / 10,
      // Set by the /v1 and /ops plugins' authentication, and only once it succeeded.
      merchantId: req.merchantId || undefined,
      operator: req.operator || undefined,
    };
    // A probe every few seconds that passes is no news: debug.
    const probe = route !== undefined && probePaths.has(route) && status < 500;
    if (probe) req.log.debug(line, 'request');
    else req.log.info(line, 'request');
  });
}
