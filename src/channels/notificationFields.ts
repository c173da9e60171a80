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

/** A UTF-16 surrogate without its pair: text no database or JSON document can keep. */
const loneSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * A verified notification whose text is not well-formed Unicode (a JSON escape of a lone
 * surrogate, say) is a 400 naming the fields, whatever the channel: nothing of it can be stored.
 */
export function refuseIllFormedText(channel: string, verified: VerifiedNotification) {
  const illFormed = Object.entries({ dedupeKey: verified.dedupeKey, ...factFields(verified) })
    .filter(([, value]) => typeof value === 'string' && loneSurrogate.test(value))
    .map(([field]) => ({ field, message: 'not well-formed Unicode (a lone surrogate)' }));
  if (illFormed.length === 0) return;
  throw new DomainError(
    'VALIDATION_FAILED',
    `${channel} notification holds text that is not well-formed Unicode`,
    illFormed,
  );
}

function factFields({ fact }: VerifiedNotification): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fact).map(([key, value]) => [`fact.${key}`, value]));
}
