// The query fields every list of the merchant API shares (pay orders, refunds, events): a page
// size, the cursor of the previous page, and a creation-time window.
import { z } from 'zod';
import { decodeListCursor } from '../../domain/schemas';

const isoDateTime = z.iso
  .datetime({ offset: true, error: 'must be an ISO 8601 date-time, e.g. 2026-01-31T08:00:00Z' })
  .transform((text) => new Date(text));

/** `limit` and `cursor` of a list whose items have IDs of `idPattern`, newest first. */
export function pageFields(idPattern: RegExp) {
  return {
    limit: z.coerce
      .number({ error: 'must be a whole number from 1 to 100' })
      .int('must be a whole number from 1 to 100')
      .min(1, 'must be at least 1')
      .max(100, 'must be at most 100')
      .default(20)
      .meta({ description: 'Page size, 1-100 (default 20).' }),
    cursor: z
      .string()
      .max(512, 'is not a cursor from this API')
      .transform((text, ctx) => {
        const cursor = decodeListCursor(text, idPattern);
        if (cursor) return cursor;
        ctx.issues.push({
          code: 'custom',
          message: 'is not a cursor from this list (pass nextCursor as it came)',
          input: text,
        });
        return z.NEVER;
      })
      .optional()
      .meta({ description: 'The `nextCursor` of the previous page, as it came.' }),
  };
}

/** `createdFrom` (inclusive) and `createdTo` (exclusive) of a list of `things`. */
export function createdWindowFields(things: string) {
  return {
    createdFrom: isoDateTime
      .optional()
      .meta({ description: `Only ${things} created at or after this instant (inclusive).` }),
    createdTo: isoDateTime
      .optional()
      .meta({ description: `Only ${things} created before this instant (exclusive).` }),
  };
}

/** Refuses a window that ends before it starts. */
export function createdWindowInOrder(
  query: { createdFrom?: Date | undefined; createdTo?: Date | undefined },
  ctx: z.RefinementCtx,
): void {
  if (query.createdFrom && query.createdTo && query.createdFrom > query.createdTo) {
    ctx.addIssue({
      code: 'custom',
      path: ['createdTo'],
      message: 'must not be before createdFrom',
    });
  }
}

/** One page of a list: its items and the cursor of the next, older page. */
export function listSchema<Item extends z.ZodType>(item: Item) {
  return z.object({
    items: z.array(item),
    nextCursor: z
      .string()
      .nullable()
      .meta({ description: 'Pass as `cursor` for the next (older) page; null on the last page.' }),
  });
}
