// The order of the payment workflow's saves in the books. Since payment-shape-6 they are local
// activities, which write before Temporal commits the workflow task that asked for them: a task
// that is never committed is run again, and may then write the same versions with other contents.
// The committed task's writes must win, and a late write of the lost task must never overwrite
// them; a retried older save of one task still never overwrites a newer one.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eq } from 'drizzle-orm';
import { openPostgres, type Database } from '../../src/db/client';
import { savePayOrderVersion } from '../../src/db/books/payOrders';
import { channelAttempts, payOrders } from '../../src/db/schema';
import type { Attempt, PayOrderState } from '../../src/domain/payOrder';
import { ensureMerchant, generateSecret } from '../../src/services/merchants';
import { runDatabaseUrl, testSecretBox } from '../support/system';

let database: Database;
const merchantId = `mch_saves_${Date.now()}`;

before(async () => {
  database = await openPostgres(runDatabaseUrl(), 2);
  await ensureMerchant(
    database.db,
    { id: merchantId, name: 'saves' },
    generateSecret('pk_test'),
    testSecretBox,
  );
});
after(() => database?.close());

let sequence = 0;

/** A new pay order in the books, as the API inserts it, with one channel order being paid. */
async function newOrder(): Promise<{ order: Omit<PayOrderState, 'attempts'>; attempt: Attempt }> {
  const id = `po_saves_${Date.now()}_${++sequence}`;
  const expiresAt = new Date(Date.now() + 15 * 60_000);
  await database.db.insert(payOrders).values({
    id,
    merchantId,
    merchantOrderNo: id,
    amount: 1_200,
    currency: 'CNY',
    subject: 'Green tea',
    expiresAt,
  });
  return {
    order: {
      id,
      amount: 1_200,
      currency: 'CNY',
      status: 'PAYING',
      needsAttention: false,
      expiresAtMs: expiresAt.getTime(),
    },
    attempt: {
      id: `att_${id}`,
      outTradeNo: `T${id}`,
      channel: 'sandbox',
      method: 'page',
      amount: 1_200,
      status: 'PENDING',
    },
  };
}

async function booksOf(payOrderId: string) {
  const [order] = await database.db.select().from(payOrders).where(eq(payOrders.id, payOrderId));
  const attempts = await database.db
    .select()
    .from(channelAttempts)
    .where(eq(channelAttempts.payOrderId, payOrderId));
  return { order: order!, attempt: attempts[0]! };
}

const at = (ms: number) => new Date(Date.UTC(2026, 11, 4, 12, 0, 0, ms));

describe('the books order the payment workflow’s saves', () => {
  it('a save of the task run again overwrites the same version written by the lost task', async () => {
    const { order, attempt } = await newOrder();
    await savePayOrderVersion(database.db, { version: 1, taskAt: at(0) }, order, [attempt]);
    // The lost task: a merchant's close, accepted in a task Temporal never committed.
    await savePayOrderVersion(
      database.db,
      { version: 2, taskAt: at(100) },
      { ...order, status: 'CLOSED' },
      [{ ...attempt, status: 'CLOSED' }],
    );
    // The task run in its place: the channel's success came first, at the same version.
    const paid = { ...attempt, status: 'SUCCEEDED' as const };
    await savePayOrderVersion(
      database.db,
      { version: 2, taskAt: at(900) },
      { ...order, status: 'SUCCEEDED', paidAttemptId: attempt.id },
      [paid],
    );
    const books = await booksOf(order.id);
    assert.equal(books.order.status, 'SUCCEEDED');
    assert.equal(books.order.paidAttemptId, attempt.id);
    assert.equal(books.order.closedAt, null);
    assert.equal(books.attempt.status, 'SUCCEEDED');
  });

  it('the committed task’s save wins over higher versions the lost task wrote, even when they come late', async () => {
    const { order, attempt } = await newOrder();
    await savePayOrderVersion(database.db, { version: 1, taskAt: at(0) }, order, [attempt]);
    const lost = { version: 3, taskAt: at(100) };
    const flagged = { ...order, needsAttention: true };
    const reason = { code: 'FLAGGED', reason: 'a lost task flagged it' };
    await savePayOrderVersion(database.db, { version: 2, taskAt: at(100) }, flagged, [], reason);
    await savePayOrderVersion(database.db, lost, { ...order, status: 'CLOSED' }, [
      { ...attempt, status: 'CLOSED' },
    ]);
    const paid = { ...order, status: 'SUCCEEDED' as const, paidAttemptId: attempt.id };
    await savePayOrderVersion(database.db, { version: 2, taskAt: at(900) }, paid, [
      { ...attempt, status: 'SUCCEEDED' },
    ]);
    // The lost task's worker was slow, not gone: its last write arrives after all.
    await savePayOrderVersion(database.db, lost, { ...order, status: 'CLOSED' }, [
      { ...attempt, status: 'CLOSED' },
    ]);
    const books = await booksOf(order.id);
    assert.equal(books.order.status, 'SUCCEEDED');
    assert.equal(books.order.needsAttention, false);
    assert.equal(books.order.version, 2);
    assert.equal(books.attempt.status, 'SUCCEEDED');
  });

  it('within one task, and for saves without a task time, an older version never overwrites a newer one', async () => {
    const { order, attempt } = await newOrder();
    const paid = { ...order, status: 'SUCCEEDED' as const, paidAttemptId: attempt.id };
    const paidAttempt = { ...attempt, status: 'SUCCEEDED' as const };
    await savePayOrderVersion(database.db, { version: 2, taskAt: at(500) }, paid, [paidAttempt]);
    await savePayOrderVersion(database.db, { version: 1, taskAt: at(500) }, order, [attempt]);
    assert.equal((await booksOf(order.id)).order.status, 'SUCCEEDED');

    // Runs started before payment-shape-6 send no task time: their versions alone order them.
    const older = await newOrder();
    const olderPaid = { ...older.order, status: 'SUCCEEDED' as const };
    await savePayOrderVersion(database.db, { version: 2 }, olderPaid, [
      { ...older.attempt, status: 'SUCCEEDED' },
    ]);
    await savePayOrderVersion(database.db, { version: 1 }, older.order, [older.attempt]);
    const books = await booksOf(older.order.id);
    assert.equal(books.order.status, 'SUCCEEDED');
    assert.equal(books.attempt.status, 'SUCCEEDED');
    // Such a run's next save, once it takes the change, is ordered by version against them.
    const flagged = { ...olderPaid, needsAttention: true };
    const reason = { code: 'FLAGGED', reason: 'an operator should look' };
    await savePayOrderVersion(database.db, { version: 3, taskAt: at(0) }, flagged, [], reason);
    assert.equal((await booksOf(older.order.id)).order.needsAttention, true);
    await savePayOrderVersion(database.db, { version: 2 }, olderPaid, []);
    assert.equal((await booksOf(older.order.id)).order.needsAttention, true);
  });
});
