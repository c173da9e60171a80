// Reading a verified notification's fields: a signed but malformed one is a 400 naming the fields.
import type { z } from 'zod';
import { DomainError } from '../domain/errors';
import { unstorableText } from '../domain/storableText';
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

/**
 * A verified notification whose text cannot be stored (a JSON escape of a lone surrogate or of
 * NUL, say) is a 400 naming the fields, whatever the channel, before anything of it is stored.
 */
export function refuseUnstorableText(channel: string, verified: VerifiedNotification) {
  const refused = unstorableText(verified, '');
  if (refused.length === 0) return;
  throw new DomainError(
    'VALIDATION_FAILED',
    `${channel} notification holds text that cannot be stored`,
    refused,
  );
}
