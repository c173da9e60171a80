// Reading a verified notification's fields: a signed but malformed one is a 400 naming the fields.
import type { z } from 'zod';
import { DomainError } from '../domain/errors';
import type { VerifiedNotification } from './types';

export function notificationFields<T>(channel: string, schema: z.ZodType<T>, input: unknown): T {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  throw new DomainError(
    'VALIDATION_FAILED',
    `${channel} notification is malformed`,
    parsed.error.issues.map((i) => ({ field: i.path.join('.'), message: i.message })),
  );
}

/** A UTF-16 surrogate without its pair. */
const loneSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Why a string cannot be stored as text or JSON in PostgreSQL, if it cannot. */
function unstorable(text: string): string | undefined {
  if (loneSurrogate.test(text)) return 'not well-formed Unicode (a lone surrogate)';
  if (text.includes('\u0000')) return 'holds a NUL character';
  return undefined;
}

/**
 * A verified notification whose text cannot be stored (a JSON escape of a lone surrogate or of
 * NUL, say) is a 400 naming the fields, whatever the channel, before anything of it is stored.
 */
export function refuseUnstorableText(channel: string, verified: VerifiedNotification) {
  const refused = stringsOf(verified)
    .map(([field, text]) => ({ field, message: unstorable(text) }))
    .filter((problem): problem is { field: string; message: string } => !!problem.message);
  if (refused.length === 0) return;
  throw new DomainError(
    'VALIDATION_FAILED',
    `${channel} notification holds text that cannot be stored`,
    refused,
  );
}

/** Every string in `value` with its dotted path (`fact.outTradeNo`). */
function stringsOf(value: unknown, at = ''): [string, string][] {
  if (typeof value === 'string') return [[at, value]];
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, inner]) =>
    stringsOf(inner, at ? `${at}.${key}` : key),
  );
}
