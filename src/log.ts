// Structured logs (pino). Secrets are redacted wherever they might appear.
import { LogController, type FastifyBaseLogger } from 'fastify';
import pino, { type Logger } from 'pino';

export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'paycenter' },
    redact: {
      paths: ['req.headers.authorization', 'headers.authorization', 'apiKey', 'secret', '*.secret'],
      censor: '[redacted]',
    },
  });
}

/** Fastify logs through our logger; requests are logged by our own hooks, not per request by Fastify. */
export function fastifyLogging(log: Logger, component: string) {
  return {
    loggerInstance: log.child({ component }) as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
  };
}
