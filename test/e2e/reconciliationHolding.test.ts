// The holding pool of reconciliation: a payment our books hold as paid just before Beijing midnight
// that the channel books the next day is no 短款. The day's run holds it, the next day's run finds
// it on that day's statement and clears it; one the channel never books becomes the operators'
// MISSING_AT_CHANNEL once the hold (RECONCILE_HOLD_DAYS, one day here) is over.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eq } from 'drizzle-orm';
import { businessDayBounds, businessDayOf } from '../../src/domain/businessDay';
import { channelAttempts, payOrders } from '../../src/db/schema';
import { dayBefore } from '../../src/domain/reconciliation';
import { paidOrder } from '../support/payments';
import { startTestSystem, type TestSystem } from '../support/system';

let system: TestSystem;
before(async () => {
  system = await startTestSystem({
    ownDatabase: true,
    env: {
      RECONCILE_HOLD_DAYS: '1',
      RECONCILE_CHANNELS: 'sandbox',
      SAFETY_NET_INTERVAL_SECONDS: '86400',
    },
  });
});
after(async () => {
  await system?.stop();
});

const today = businessDayOf(new Date());
const yesterday = dayBefore(today);
/** Our clock's last seconds of yesterday (Beijing), while the channel's is already on today. */
const beforeMidnight = (seconds: number) =>
  new Date(businessDayBounds(today).from.getTime() - seconds * 1000);

const references = (items: { reference: string }[]) => items.map((i) => i.reference).sort();
const exceptions = async () =>
  (await system.ops('GET', '/ops/exceptions')).body.items.map((i: { id: string }) => i.id).sort();

/** A sandbox payment our books record at `bookedAt`; the channel books it when the payer paid (now). */
async function paidOrderBookedAt(amount: number, bookedAt: Date) {
  const { id, outTradeNo } = await paidOrder(system, {
    prefix: 'hold',
    amount,
    subject: 'Tea',
    expiresInSeconds: 600,
  });
  const { db } = system.database;
  await db
    .update(channelAttempts)
    .set({ paidAt: bookedAt })
    .where(eq(channelAttempts.outTradeNo, outTradeNo));
  await db.update(payOrders).set({ paidAt: bookedAt }).where(eq(payOrders.id, id));
  return { id, outTradeNo, amount };
}

describe('defect 9: a difference that may be a day-boundary shift waits for the next statements', () => {
  let shifted: { id: string; outTradeNo: string };
  let neverBooked: { id: string; outTradeNo: string };

  it('defect 9: a payment booked just before midnight that the channel books the next day is held, not MISSING_AT_CHANNEL', async () => {
    shifted = await paidOrderBookedAt(2_100, beforeMidnight(1));
    neverBooked = await paidOrderBookedAt(2_200, beforeMidnight(2));
    // The channel takes the second payment back: no statement of any day will book it.
    const reversed = await system.simulator(
      'POST',
      `/control/payments/${neverBooked.outTradeNo}/reverse`,
    );
    assert.equal(reversed.status, 200);

    const run = await system.ops('POST', '/ops/reconciliations', {
      channel: 'sandbox',
      day: yesterday,
    });
    assert.equal(run.status, 200, JSON.stringify(run.body));
    const report = run.body;
    assert.deepEqual(report.forOperators, []);
    assert.equal(report.classes.MISSING_AT_CHANNEL, undefined);
    assert.deepEqual(
      references(report.held),
      [shifted, neverBooked].map((o) => o.outTradeNo).sort(),
    );
    for (const item of report.held) {
      assert.equal(item.kind, 'MISSING_AT_CHANNEL');
      assert.equal(item.resolution, 'HELD');
      assert.equal(item.heldUntil, today);
    }
    // Nothing reaches the operators while the difference is held.
    assert.deepEqual(await exceptions(), []);
    assert.equal((await system.payOrder(shifted.id)).needsAttention, false);
    assert.deepEqual((await system.ops('GET', '/ops/reconciliation-differences')).body.items, []);
  });

  it("defect 9: the next day's run clears the held payment with its statement line, and the one never booked becomes MISSING_AT_CHANNEL after the hold", async () => {
    const run = await system.ops('POST', '/ops/reconciliations', {
      channel: 'sandbox',
      day: today,
    });
    assert.equal(run.status, 200, JSON.stringify(run.body));
    const report = run.body;
    assert.equal(report.matched.payments, 1);
    assert.deepEqual(report.held, []);
    assert.deepEqual(
      report.holdsSettled.map((i: { reference: string; resolution: string; day: string }) => [
        i.day,
        i.reference,
        i.resolution,
      ]),
      [
        [yesterday, shifted.outTradeNo, 'CORRECTED'],
        [yesterday, neverBooked.outTradeNo, 'OPS'],
      ].sort((a, b) => a[1]!.localeCompare(b[1]!)),
    );

    const stored = (await system.ops('GET', `/ops/reconciliations/sandbox/${yesterday}`)).body;
    const row = (outTradeNo: string) =>
      stored.differences.find((d: { reference: string }) => d.reference === outTradeNo);
    const cleared = row(shifted.outTradeNo);
    assert.equal(cleared.resolution, 'CORRECTED');
    assert.equal(cleared.evidence.bookedOnOtherDay.day, today);
    assert.equal(cleared.evidence.bookedOnOtherDay.line.outTradeNo, shifted.outTradeNo);
    assert.equal(cleared.evidence.bookedOnOtherDay.line.amount, 2_100);
    const released = row(neverBooked.outTradeNo);
    assert.equal(released.kind, 'MISSING_AT_CHANNEL');
    assert.equal(released.resolution, 'OPS');
    assert.equal(released.urgent, true);

    // The expired hold is the operators' exception, as any 短款; the shifted payment is not.
    assert.deepEqual(await exceptions(), [neverBooked.id]);
    assert.equal((await system.payOrder(shifted.id)).needsAttention, false);
    const open = (await system.ops('GET', '/ops/reconciliation-differences')).body.items;
    assert.deepEqual(
      open.map((d: { kind: string; reference: string }) => [d.kind, d.reference]),
      [['MISSING_AT_CHANNEL', neverBooked.outTradeNo]],
    );
  });

  it('defect 9: a rerun of the held day after the hold reports the 短款 for operators and the shift as corrected', async () => {
    const run = await system.ops('POST', '/ops/reconciliations', {
      channel: 'sandbox',
      day: yesterday,
    });
    assert.equal(run.status, 200, JSON.stringify(run.body));
    const report = run.body;
    assert.deepEqual(report.held, []);
    assert.deepEqual(
      report.forOperators.map((i: { kind: string; reference: string; urgent: boolean }) => [
        i.kind,
        i.reference,
        i.urgent,
      ]),
      [['MISSING_AT_CHANNEL', neverBooked.outTradeNo, true]],
    );
    assert.deepEqual(
      report.autoCorrected.map((i: { reference: string; resolution: string }) => [
        i.reference,
        i.resolution,
      ]),
      [[shifted.outTradeNo, 'CORRECTED']],
    );
    assert.equal(report.classes.MISSING_AT_CHANNEL.count, 1);
    assert.deepEqual(await exceptions(), [neverBooked.id]);
  });
});
