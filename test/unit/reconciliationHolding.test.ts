// The holding pool's decision: a difference that may be a day-boundary shift is held, cleared by
// another day's statement, or released to the operators once its hold is over.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  compareLine,
  missingAtChannel,
  noneMatched,
  type BookPayment,
} from '../../src/domain/reconciliation';
import {
  addDays,
  dayBoundaryKinds,
  decideHold,
  heldUntil,
  holdHorizon,
  holdShifts,
  type LaterBooking,
} from '../../src/domain/reconciliationHolding';

const paidBeforeMidnight: BookPayment = {
  payOrderId: 'po_1',
  attemptId: 'att_1',
  outTradeNo: 'T1',
  amount: 2_100,
  currency: 'CNY',
  status: 'SUCCEEDED',
};
const booking: LaterBooking = {
  day: '2026-11-25',
  statementId: 'stm_1',
  line: {
    kind: 'PAYMENT',
    outTradeNo: 'T1',
    channelTradeNo: 'CT1',
    amount: 2_100,
    currency: 'CNY',
    at: '2026-11-24T16:00:01.000Z',
  },
};
/** Our books on the day: the payment booked at 23:59:59, which the day's statement lacks. */
const unbooked = missingAtChannel(paidBeforeMidnight);

describe('defect 9: the holding pool of reconciliation', () => {
  it("defect 9: a payment we booked at 23:59:59 that the day's statement lacks is held, not MISSING_AT_CHANNEL for operators", () => {
    const held = holdShifts('2026-11-24', [unbooked], {
      horizon: holdHorizon('2026-11-24', '2026-11-25'),
      holdDays: 3,
    });
    assert.deepEqual(
      held.map((d) => [d.kind, d.reference, d.resolution]),
      [['MISSING_AT_CHANNEL', 'T1', 'HELD']],
    );
  });

  it('holds only what a shift can cause', () => {
    assert.deepEqual([...dayBoundaryKinds].sort(), [
      'MISSING_AT_CHANNEL',
      'REFUND_MISSING_AT_CHANNEL',
    ]);
    // A line the books do not know is no shift: it goes to operators at once.
    const outside = compareLine({ ...booking.line, outTradeNo: 'OUTSIDE' }, {}, noneMatched());
    const differences = [outside!, unbooked];
    const decided = holdShifts('2026-11-24', differences, { horizon: '2026-11-24', holdDays: 3 });
    assert.deepEqual(decided.map((d) => [d.kind, d.resolution]).sort(), [
      ['MISSING_AT_CHANNEL', 'HELD'],
      ['UNKNOWN_PAYMENT', 'OPS'],
    ]);
  });

  it("clears a held difference another day's statement books, in either direction", () => {
    const clock = { horizon: '2026-11-25', holdDays: 3 };
    assert.deepEqual(decideHold('2026-11-24', booking, clock), { decision: 'CLEAR', booking });
    // The channel booked on the day before ours; and cleared even after the hold.
    const earlier = { ...booking, day: '2026-11-23' };
    assert.deepEqual(decideHold('2026-11-24', earlier, { horizon: '2026-12-31', holdDays: 3 }), {
      decision: 'CLEAR',
      booking: earlier,
    });
  });

  it('holds until the statement of the last day is due, then releases to operators', () => {
    const decide = (horizon: string) =>
      decideHold('2026-11-24', undefined, { horizon, holdDays: 3 }).decision;
    assert.equal(decide('2026-11-24'), 'HOLD');
    assert.equal(decide('2026-11-26'), 'HOLD');
    assert.equal(decide('2026-11-27'), 'RELEASE');
    assert.equal(decide('2027-01-01'), 'RELEASE');
    assert.deepEqual(decideHold('2026-11-24', undefined, { horizon: '2026-11-24', holdDays: 3 }), {
      decision: 'HOLD',
      until: '2026-11-27',
    });
    // No hold at all with zero days.
    assert.equal(
      decideHold('2026-11-24', undefined, { horizon: '2026-11-24', holdDays: 0 }).decision,
      'RELEASE',
    );
  });

  it('measures the hold by the latest stored statement, or yesterday when that is later', () => {
    assert.equal(holdHorizon('2026-11-24', '2026-11-25'), '2026-11-24');
    assert.equal(holdHorizon('2026-11-25', '2026-11-25'), '2026-11-25');
    // A rerun of an old day, long after, with no later statement stored.
    assert.equal(holdHorizon('2026-11-01', '2026-11-25'), '2026-11-24');
  });

  it('counts days across month and year ends', () => {
    assert.equal(heldUntil('2026-12-30', 3), '2027-01-02');
    assert.equal(addDays('2028-02-28', 1), '2028-02-29');
    assert.equal(addDays('2026-03-01', -1), '2026-02-28');
  });
});
