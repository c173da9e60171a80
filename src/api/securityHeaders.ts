// Security headers on every answer (problems, pages and webhooks' replies too): helmet's, with our
// content security policy, worked out once at start-up and set on each reply as a plain table.
// Helmet's Fastify plugin built its middleware again for every request, parsing the policy each
// time: about a tenth of what the API allocated per channel notification.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import helmet, { type HelmetOptions } from 'helmet';

export const securityHeaderOptions = {
  // Our pages are self-contained: nothing loads from elsewhere, and no inline script or style
  // runs (the cashier's are files under /cashier/assets/; /docs and the ops console set policies
  // of their own).
  contentSecurityPolicy: {
    directives: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'"],
      imgSrc: ["'self'", 'data:'],
      // The cashier's no-script forms are answered with a redirect to the channel's page.
      formAction: ["'self'", 'http:', 'https:'],
    },
  },
} satisfies HelmetOptions;

/**
 * The headers helmet sets with `options`, by lower-case name. Every value must be fixed: a policy
 * directive given as a function of the request would be worked out once, for no request.
 */
export function securityHeaders(options: HelmetOptions): Record<string, string> {
  const headers: Record<string, string> = {};
  const recorder = {
    setHeader(name: string, value: string | number | readonly string[]) {
      headers[name.toLowerCase()] = String(value);
    },
    // X-Powered-By: Fastify never sets it.
    removeHeader() {},
  };
  const noRequest = {} as IncomingMessage;
  // Helmet throws on options it refuses; `next` has nothing to pass on.
  helmet(options)(noRequest, recorder as unknown as ServerResponse, () => {});
  return headers;
}

/** Sets the security headers on every reply, before any hook or handler may refuse or answer. */
export function installSecurityHeaders(app: FastifyInstance): void {
  const headers = securityHeaders(securityHeaderOptions);
  app.addHook('onRequest', (_req, reply, done) => {
    reply.headers(headers);
    done();
  });
}
