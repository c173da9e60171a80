// How long an `Idempotency-Key` row lives (src/api/idempotency.ts uses it): its answer is replayed
// for IDEMPOTENCY_TTL_HOURS; while its request runs (IN_PROGRESS) it is held for a lease, after
// which a retry of the same request takes it over (the first request crashed). `created_at` is
// when the key's current holder claimed it: a takeover claims it anew.
import { and, eq, lt, sql } from 'drizzle-orm';
import type { Db } from '../db/client';
import { idempotencyKeys } from '../db/schema';

/** How long a stored answer is replayed. A constant for now; configurable later. */
export const IDEMPOTENCY_TTL_HOURS = 24;

/** How many expired keys one sweep deletes at most: a backlog goes over the next scans. */
export const keysPerSweep = 10_000;

/** The key's row is past its time to live: it counts as absent. */
export const keyExpired = lt(
  idempotencyKeys.createdAt,
  sql`now() - make_interval(hours => ${IDEMPOTENCY_TTL_HOURS})`,
);

/** The request holding the key has run longer than its lease: it crashed, a retry may take over. */
export const leaseExpired = (leaseSeconds: number) =>
  and(
    eq(idempotencyKeys.status, 'IN_PROGRESS'),
    lt(idempotencyKeys.createdAt, sql`now() - make_interval(secs => ${leaseSeconds})`),
  );

/** Deletes keys past their time to live (the safety-net scan); answers how many. */
export async function sweepExpiredIdempotencyKeys(db: Db): Promise<number> {
  const swept = await db
    .delete(idempotencyKeys)
    .where(
      sql`ctid = any(array(${db
        .select({ ctid: sql`ctid` })
        .from(idempotencyKeys)
        .where(keyExpired)
        .limit(keysPerSweep)}))`,
    )
    .returning({ key: idempotencyKeys.key });
  return swept.length;
}
