// The `Idempotency-Key` rows, and the only module with their SQL (src/api/idempotency.ts speaks
// HTTP and calls these). A key's answer is replayed for the retention period
// (IDEMPOTENCY_KEY_RETENTION_SECONDS); while its request runs (IN_PROGRESS) it is held for a lease,
// after which a retry of the same request takes it over (the first request crashed). `created_at`
// is when the key's current holder claimed it: a takeover claims it anew. The safety-net scan
// deletes keys past their retention, in batches.
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
const keyExpired = (retentionSeconds: number) =>
  lt(idempotencyKeys.createdAt, sql`now() - make_interval(secs => ${retentionSeconds})`);

/** The request holding the key has run longer than its lease: it crashed, a retry may take over. */
const leaseExpired = (leaseSeconds: number) =>
  and(
    eq(idempotencyKeys.status, 'IN_PROGRESS'),
    lt(idempotencyKeys.createdAt, sql`now() - make_interval(secs => ${leaseSeconds})`),
  );

/** A merchant's key: the row's identity (the unique (merchant_id, key) index). */
export interface MerchantKey {
  merchantId: string;
  key: string;
}

/** The request a key was claimed for: the same key with another request is refused. */
export interface KeyedRequest extends MerchantKey {
  method: string;
  path: string;
  /** SHA-256 (hex) of the raw body. */
  requestHash: string;
}

/** The answer stored for a key, replayed to every retry of its request. */
export interface IdempotentAnswer {
  status: number;
  contentType: string | null;
  body: string;
}

const keyIs = ({ merchantId, key }: MerchantKey) =>
  and(eq(idempotencyKeys.merchantId, merchantId), eq(idempotencyKeys.key, key));

/**
 * Inserts the key's row as IN_PROGRESS unless a live one exists; an expired row counts as absent
 * and is replaced in the same transaction. A row of the same request whose lease is over is taken
 * over by claiming it anew: the update locks the row, so of retries racing for it one wins, and
 * the others then see a fresh lease. Answers whether this request now owns the key.
 */
export async function claimIdempotencyKey(
  db: Db,
  times: IdempotencyKeyTimes,
  request: KeyedRequest,
): Promise<boolean> {
  return db.transaction(async (tx) => {
    await tx.delete(idempotencyKeys).where(and(keyIs(request), keyExpired(times.retentionSeconds)));
    const inserted = await tx
      .insert(idempotencyKeys)
      .values({ ...request, status: 'IN_PROGRESS' })
      .onConflictDoNothing({ target: [idempotencyKeys.merchantId, idempotencyKeys.key] })
      .returning({ key: idempotencyKeys.key });
    if (inserted.length > 0) return true;
    const takenOver = await tx
      .update(idempotencyKeys)
      .set({ createdAt: sql`now()` })
      .where(
        and(
          keyIs(request),
          eq(idempotencyKeys.method, request.method),
          eq(idempotencyKeys.path, request.path),
          eq(idempotencyKeys.requestHash, request.requestHash),
          leaseExpired(times.leaseSeconds),
        ),
      )
      .returning({ key: idempotencyKeys.key });
    return takenOver.length > 0;
  });
}

/** The key's row as it is now, if there is one. */
export async function findIdempotencyKey(
  db: Db,
  key: MerchantKey,
): Promise<typeof idempotencyKeys.$inferSelect | undefined> {
  const [row] = await db.select().from(idempotencyKeys).where(keyIs(key)).limit(1);
  return row;
}

/** Stores the answer of the request holding the key: from now on it is replayed. */
export async function storeIdempotentAnswer(
  db: Db,
  key: MerchantKey,
  answer: IdempotentAnswer,
): Promise<void> {
  await db
    .update(idempotencyKeys)
    .set({
      status: 'COMPLETED',
      responseStatus: answer.status,
      responseContentType: answer.contentType,
      responseBody: answer.body,
      completedAt: sql`now()`,
    })
    .where(keyIs(key));
}

/** Gives the key up (its request failed, or its answer could not be stored): a retry may run. */
export async function releaseIdempotencyKey(db: Db, key: MerchantKey): Promise<void> {
  await db.delete(idempotencyKeys).where(keyIs(key));
}

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
