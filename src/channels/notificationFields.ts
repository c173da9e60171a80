// Reading a verified notification's fields: a signed but malformed one is a 400 naming the fields.
import type { z } from 'zod';
import { DomainError } from '../domain/errors';

export function notificationFields<T>(channel: string, schema: z.ZodType<T>, input: unknown): T {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  throw new DomainError(
    'VALIDATION_FAILED',
    `${channel} notification is malformed`,
    parsed.error.issues.map((i) => ({ field: i.path.join('.'), message: i.message })),
  );
}
