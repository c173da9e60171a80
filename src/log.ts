// Structured logs (pino). Secrets are redacted wherever they might appear.
import { LogController, type FastifyBaseLogger } from 'fastify';
import pino, { type Logger } from 'pino';

/** Lines go to stdout, or to `destination` (tests read what a system logs). */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const options = {
    level,
    base: { service: 'paycenter' },
    redact: {
      paths: ['req.headers.authorization', 'headers.authorization', 'apiKey', 'secret', '*.secret'],
      censor: '[redacted]',
    },
  };
  return destination ? pino(options, destination) : pino(options);
}

/**
 * Fastify logs through our logger, each request's lines labelled with its `requestId`; requests
 * are logged by our own hook (src/api/requestLogs.ts), not by Fastify's, which logs the URL.
 */
export function fastifyLogging(log: Logger, component: string) {
  return {
    loggerInstance: log.child({ component }) as FastifyBaseLogger,
    logController: new LogController({
      disableRequestLogging: true,
      requestIdLogLabel: 'requestId',
    }),
  };
}
