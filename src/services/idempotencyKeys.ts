// How long an `Idempotency-Key` row lives (src/api/idempotency.ts uses it): its answer is replayed
// for the retention period (IDEMPOTENCY_KEY_RETENTION_SECONDS); while its request runs
// (IN_PROGRESS) it is held for a lease, after which a retry of the same request takes it over (the
// first request crashed). `created_at` is when the key's current holder claimed it: a takeover
// claims it anew. The safety-net scan deletes keys past their retention, in batches.
import { and, eq, lt, sql } from 'drizzle-orm';
import type { Db } from '../db/client';
import { idempotencyKeys } from '../db/schema';

/** The times of a key: its lease while its request runs, its retention once answered. */
export interface IdempotencyKeyTimes {
  leaseSeconds: number;
  retentionSeconds: number;
}

/** Expired keys one delete removes: short statements, short locks. */
export const keysPerBatch = 5_000;
/** Batches one sweep deletes at most, so it ends within its activity's time; a backlog beyond goes over the next scans. */
export const batchesPerSweep = 40;

/** The key's row is past its retention: it counts as absent. */
export const keyExpired = (retentionSeconds: number) =>
  lt(idempotencyKeys.createdAt, sql`now() - make_interval(secs => ${retentionSeconds})`);

/** The request holding the key has run longer than its lease: it crashed, a retry may take over. */
export const leaseExpired = (leaseSeconds: number) =>
  and(
    eq(idempotencyKeys.status, 'IN_PROGRESS'),
    lt(idempotencyKeys.createdAt, sql`now() - make_interval(secs => ${leaseSeconds})`),
  );

/** Deletes keys past their retention (the safety-net scan), batch after batch; answers how many. */
export async function sweepExpiredIdempotencyKeys(
  db: Db,
  retentionSeconds: number,
): Promise<number> {
  let swept = 0;
  for (let batch = 0; batch < batchesPerSweep; batch++) {
    const deleted = await db
      .delete(idempotencyKeys)
      .where(
        sql`ctid = any(array(${db
          .select({ ctid: sql`ctid` })
          .from(idempotencyKeys)
          .where(keyExpired(retentionSeconds))
          .limit(keysPerBatch)}))`,
      )
      .returning({ key: idempotencyKeys.key });
    swept += deleted.length;
    if (deleted.length < keysPerBatch) break;
  }
  return swept;
}
