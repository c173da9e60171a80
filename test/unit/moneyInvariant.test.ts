// The money invariant checker: conserved books, every kind of violation, no verdict in flight,
// and properties over random books that a correct payment center could have left behind.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  checkMoney,
  paidInBooks,
  type ChannelTrade,
  type MoneyAttempt,
  type MoneyBooks,
  type MoneyRefund,
  type MoneyVerdict,
} from '../../src/domain/moneyInvariant';

const AMOUNT = 8_800;

const attempt = (n: number, status: string, extra: Partial<MoneyAttempt> = {}): MoneyAttempt => ({
  id: `att_${n}`,
  outTradeNo: `T${n}`,
  status,
  amount: AMOUNT,
  ...extra,
});
const refund = (n: number, amount: number, reason: string, status = 'SUCCEEDED'): MoneyRefund => ({
  attemptId: `att_${n}`,
  amount,
  reason,
  status,
});
const books = (
  status: string,
  attempts: MoneyAttempt[],
  refunds: MoneyRefund[] = [],
  channel?: ChannelTrade[],
): MoneyBooks => ({
  order: { status, amount: AMOUNT },
  attempts,
  refunds,
  ...(channel ? { channel } : {}),
});

function assertConserved(verdict: MoneyVerdict, net: number) {
  assert.deepEqual(verdict, { inFlight: false, ok: true, netAtChannel: net, expected: net });
}
function assertViolation(verdict: MoneyVerdict, code: string, net: number, expected: number) {
  assert.equal(verdict.inFlight, false, JSON.stringify(verdict));
  assert.ok(!verdict.inFlight && !verdict.ok, JSON.stringify(verdict));
  assert.equal(verdict.code, code, verdict.message);
  assert.equal(verdict.netAtChannel, net);
  assert.equal(verdict.expected, expected);
  assert.match(verdict.message, new RegExp(`net at the channel ${net}, expected ${expected}`));
}

describe('money conserved', () => {
  it('a paid order keeps its amount at the channel', () => {
    assertConserved(checkMoney(books('SUCCEEDED', [attempt(1, 'SUCCEEDED')])), AMOUNT);
  });

  it('a closed order that was never paid holds nothing', () => {
    const verdict = checkMoney(
      books('CLOSED', [attempt(1, 'CLOSED'), attempt(2, 'FAILED'), attempt(3, 'CLOSED')]),
    );
    assertConserved(verdict, 0);
  });

  it('an order nobody tried to pay holds nothing', () => {
    assertConserved(checkMoney(books('CREATED', [])), 0);
  });

  it('a duplicate payment refunded as DUPLICATE_PAYMENT leaves the amount once', () => {
    const verdict = checkMoney(
      books(
        'SUCCEEDED',
        [attempt(1, 'SUCCEEDED'), attempt(2, 'SUCCEEDED')],
        [refund(2, AMOUNT, 'DUPLICATE_PAYMENT')],
      ),
    );
    assertConserved(verdict, AMOUNT);
  });

  it('a late payment on a closed order refunded as LATE_PAYMENT leaves nothing', () => {
    const verdict = checkMoney(
      books('CLOSED', [attempt(1, 'SUCCEEDED')], [refund(1, AMOUNT, 'LATE_PAYMENT')]),
    );
    assertConserved(verdict, 0);
  });

  it("the merchant's refunds lower what a paid order keeps", () => {
    const verdict = checkMoney(
      books(
        'SUCCEEDED',
        [attempt(1, 'SUCCEEDED')],
        [
          refund(1, 1_000, 'MERCHANT_REQUEST'),
          refund(1, 500, 'MERCHANT_REQUEST'),
          refund(1, 7_000, 'MERCHANT_REQUEST', 'FAILED'),
        ],
      ),
    );
    assertConserved(verdict, AMOUNT - 1_500);
  });

  it('an AMOUNT_MISMATCH payment refunded compensatingly leaves nothing', () => {
    const verdict = checkMoney(
      books(
        'CLOSED',
        [attempt(1, 'AMOUNT_MISMATCH', { paidAmount: 1 })],
        [refund(1, 1, 'AMOUNT_MISMATCH')],
      ),
    );
    assertConserved(verdict, 0);
  });

  it("a success's money is what was paid, when the books know it", () => {
    assert.equal(paidInBooks(attempt(1, 'SUCCEEDED', { paidAmount: 8_000 })), 8_000);
    assert.equal(paidInBooks(attempt(1, 'SUCCEEDED')), AMOUNT);
    assert.equal(paidInBooks(attempt(1, 'AMOUNT_MISMATCH', { paidAmount: 9_000 })), 9_000);
    for (const status of ['OPENING', 'PENDING', 'UNKNOWN', 'CLOSED', 'FAILED']) {
      assert.equal(paidInBooks(attempt(1, status, { paidAmount: 5 })), 0, status);
    }
  });

  it('the channel agreeing with the books changes nothing', () => {
    const verdict = checkMoney(
      books(
        'SUCCEEDED',
        [attempt(1, 'CLOSED'), attempt(2, 'SUCCEEDED')],
        [],
        [
          { outTradeNo: 'T1', paidAmount: 0, refundedAmount: 0 },
          { outTradeNo: 'T2', paidAmount: AMOUNT, refundedAmount: 0 },
        ],
      ),
    );
    assertConserved(verdict, AMOUNT);
  });
});

describe('no verdict while money moves', () => {
  for (const status of ['OPENING', 'PENDING', 'UNKNOWN']) {
    it(`a channel order still ${status} is in flight`, () => {
      const verdict = checkMoney(books('SUCCEEDED', [attempt(1, 'SUCCEEDED'), attempt(2, status)]));
      assert.deepEqual(verdict, { inFlight: true, message: `channel order T2 is still ${status}` });
    });
  }

  it('a PROCESSING refund is in flight', () => {
    const verdict = checkMoney(
      books('CLOSED', [attempt(1, 'SUCCEEDED')], [refund(1, AMOUNT, 'LATE_PAYMENT', 'PROCESSING')]),
    );
    assert.equal(verdict.inFlight, true);
  });
});

describe('money not conserved', () => {
  it('a duplicate payment nobody refunded is OVER_COLLECTED', () => {
    const verdict = checkMoney(
      books('SUCCEEDED', [attempt(1, 'SUCCEEDED'), attempt(2, 'SUCCEEDED')]),
    );
    assertViolation(verdict, 'OVER_COLLECTED', 2 * AMOUNT, AMOUNT);
  });

  it('a closed order paid late and never refunded is OVER_COLLECTED', () => {
    assertViolation(
      checkMoney(books('CLOSED', [attempt(1, 'SUCCEEDED')])),
      'OVER_COLLECTED',
      AMOUNT,
      0,
    );
  });

  it('a FAILED refund counts as not refunded', () => {
    const verdict = checkMoney(
      books('CLOSED', [attempt(1, 'SUCCEEDED')], [refund(1, AMOUNT, 'LATE_PAYMENT', 'FAILED')]),
    );
    assertViolation(verdict, 'OVER_COLLECTED', AMOUNT, 0);
  });

  it('an AMOUNT_MISMATCH payment left unrefunded is OVER_COLLECTED', () => {
    const verdict = checkMoney(books('CLOSED', [attempt(1, 'AMOUNT_MISMATCH', { paidAmount: 1 })]));
    assertViolation(verdict, 'OVER_COLLECTED', 1, 0);
  });

  it('a paid order with no payment in the books is UNDER_COLLECTED', () => {
    assertViolation(
      checkMoney(books('SUCCEEDED', [attempt(1, 'CLOSED')])),
      'UNDER_COLLECTED',
      0,
      AMOUNT,
    );
  });

  it('a compensating refund of the paying channel order is UNDER_COLLECTED', () => {
    const verdict = checkMoney(
      books('SUCCEEDED', [attempt(1, 'SUCCEEDED')], [refund(1, AMOUNT, 'DUPLICATE_PAYMENT')]),
    );
    assertViolation(verdict, 'UNDER_COLLECTED', 0, AMOUNT);
  });

  it('a refund of a channel order never paid is REFUND_WITHOUT_PAYMENT, naming it', () => {
    const verdict = checkMoney(
      books(
        'SUCCEEDED',
        [attempt(1, 'SUCCEEDED'), attempt(2, 'CLOSED')],
        [refund(2, AMOUNT, 'DUPLICATE_PAYMENT')],
      ),
    );
    assertViolation(verdict, 'REFUND_WITHOUT_PAYMENT', 0, AMOUNT);
    assert.ok(!verdict.inFlight && !verdict.ok && verdict.outTradeNo === 'T2');
  });

  it('refunds above the payment are OVER_REFUNDED', () => {
    const verdict = checkMoney(
      books(
        'SUCCEEDED',
        [attempt(1, 'SUCCEEDED')],
        [refund(1, AMOUNT, 'MERCHANT_REQUEST'), refund(1, 1, 'MERCHANT_REQUEST')],
      ),
    );
    assertViolation(verdict, 'OVER_REFUNDED', -1, -1);
  });

  it('a payment the channel holds and the books do not is OVER_COLLECTED', () => {
    const verdict = checkMoney(
      books(
        'CLOSED',
        [attempt(1, 'CLOSED')],
        [],
        [{ outTradeNo: 'T1', paidAmount: AMOUNT, refundedAmount: 0 }],
      ),
    );
    assertViolation(verdict, 'OVER_COLLECTED', AMOUNT, 0);
  });

  it('a refund the channel made twice is UNDER_COLLECTED', () => {
    const verdict = checkMoney(
      books(
        'SUCCEEDED',
        [attempt(1, 'SUCCEEDED')],
        [refund(1, 3_000, 'MERCHANT_REQUEST')],
        [{ outTradeNo: 'T1', paidAmount: AMOUNT, refundedAmount: 6_000 }],
      ),
    );
    assertViolation(verdict, 'UNDER_COLLECTED', AMOUNT - 6_000, AMOUNT - 3_000);
  });

  it('the right total on the wrong channel order is BOOKS_DISAGREE_WITH_CHANNEL', () => {
    const verdict = checkMoney(
      books(
        'SUCCEEDED',
        [attempt(1, 'CLOSED'), attempt(2, 'SUCCEEDED')],
        [],
        [
          { outTradeNo: 'T1', paidAmount: AMOUNT, refundedAmount: 0 },
          { outTradeNo: 'T2', paidAmount: 0, refundedAmount: 0 },
        ],
      ),
    );
    assertViolation(verdict, 'BOOKS_DISAGREE_WITH_CHANNEL', AMOUNT, AMOUNT);
  });
});

/**
 * Books a correct payment center leaves once settled: at most one success pays a SUCCEEDED order,
 * every other success is refunded compensatingly (some after a FAILED try), the merchant refunds
 * part of the paid one, and unpaid channel orders are CLOSED or FAILED.
 */
const settledBooksArb: fc.Arbitrary<MoneyBooks> = fc
  .record({
    paid: fc.boolean(),
    others: fc.array(
      fc.record({
        status: fc.constantFrom('SUCCEEDED', 'AMOUNT_MISMATCH', 'CLOSED', 'FAILED'),
        paidAmount: fc.integer({ min: 1, max: 100_000 }),
        failedFirst: fc.boolean(),
      }),
      { maxLength: 5 },
    ),
    merchantRefunds: fc.array(fc.integer({ min: 1, max: AMOUNT }), { maxLength: 4 }),
  })
  .map(({ paid, others, merchantRefunds }) => {
    const attempts: MoneyAttempt[] = [];
    const refunds: MoneyRefund[] = [];
    if (paid) {
      attempts.push(attempt(0, 'SUCCEEDED'));
      let left = AMOUNT;
      for (const amount of merchantRefunds) {
        if (amount > left) continue;
        left -= amount;
        refunds.push(refund(0, amount, 'MERCHANT_REQUEST'));
      }
    }
    others.forEach((other, i) => {
      const n = i + 1;
      const mismatch = other.status === 'AMOUNT_MISMATCH';
      attempts.push(attempt(n, other.status, mismatch ? { paidAmount: other.paidAmount } : {}));
      const money = paidInBooks(attempts.at(-1)!);
      if (money === 0) return;
      if (other.failedFirst) refunds.push(refund(n, money, 'DUPLICATE_PAYMENT', 'FAILED'));
      refunds.push(refund(n, money, paid ? 'DUPLICATE_PAYMENT' : 'LATE_PAYMENT'));
    });
    return books(paid ? 'SUCCEEDED' : 'CLOSED', attempts, refunds);
  });

/** The channel's view of books it agrees with. */
function channelOf(b: MoneyBooks): ChannelTrade[] {
  return b.attempts.map((a) => ({
    outTradeNo: a.outTradeNo,
    paidAmount: paidInBooks(a),
    refundedAmount: b.refunds
      .filter((r) => r.attemptId === a.id && r.status === 'SUCCEEDED')
      .reduce((total, r) => total + r.amount, 0),
  }));
}

describe('money invariant properties', () => {
  it('the books a correct payment center leaves are conserved, with or without the channel', () => {
    fc.assert(
      fc.property(settledBooksArb, (b) => {
        const verdict = checkMoney(b);
        assert.ok(!verdict.inFlight && verdict.ok, JSON.stringify(verdict));
        assert.deepEqual(checkMoney({ ...b, channel: channelOf(b) }), verdict);
      }),
    );
  });

  it('losing any compensating refund is OVER_COLLECTED by exactly its amount', () => {
    const withCompensation = settledBooksArb.filter((b) =>
      b.refunds.some((r) => r.status === 'SUCCEEDED' && r.reason !== 'MERCHANT_REQUEST'),
    );
    fc.assert(
      fc.property(withCompensation, fc.nat(), (b, pick) => {
        const compensating = b.refunds.filter(
          (r) => r.status === 'SUCCEEDED' && r.reason !== 'MERCHANT_REQUEST',
        );
        const lost = compensating[pick % compensating.length]!;
        const verdict = checkMoney({ ...b, refunds: b.refunds.filter((r) => r !== lost) });
        assert.ok(!verdict.inFlight && !verdict.ok, JSON.stringify(verdict));
        assert.equal(verdict.code, 'OVER_COLLECTED');
        assert.equal(verdict.netAtChannel - verdict.expected, lost.amount);
      }),
    );
  });

  it('a channel that refunded a trade once more is UNDER_COLLECTED by exactly that', () => {
    fc.assert(
      fc.property(
        settledBooksArb.filter((b) => b.order.status === 'SUCCEEDED'),
        fc.integer({ min: 1, max: 1_000 }),
        (b, extra) => {
          const channel = channelOf(b).map((t) =>
            t.outTradeNo === 'T0' ? { ...t, refundedAmount: t.refundedAmount + extra } : t,
          );
          const verdict = checkMoney({ ...b, channel });
          assert.ok(!verdict.inFlight && !verdict.ok, JSON.stringify(verdict));
          assert.equal(verdict.code, 'UNDER_COLLECTED');
          assert.equal(verdict.expected - verdict.netAtChannel, extra);
        },
      ),
    );
  });

  it('anything open or PROCESSING withholds the verdict, whatever else the books say', () => {
    fc.assert(
      fc.property(
        settledBooksArb,
        fc.constantFrom('OPENING', 'PENDING', 'UNKNOWN', 'PROCESSING'),
        (b, moving) => {
          const inFlight =
            moving === 'PROCESSING'
              ? { ...b, refunds: [...b.refunds, refund(0, 1, 'MERCHANT_REQUEST', 'PROCESSING')] }
              : { ...b, attempts: [...b.attempts, attempt(99, moving)] };
          assert.equal(checkMoney(inFlight).inFlight, true);
        },
      ),
    );
  });

  it('a violation names a net and an expectation that differ, or a channel order at fault', () => {
    const anyBooksArb = fc.record({
      order: fc.record({
        status: fc.constantFrom('SUCCEEDED', 'CLOSED', 'PAYING'),
        amount: fc.constant(AMOUNT),
      }),
      attempts: fc
        .array(fc.constantFrom('SUCCEEDED', 'CLOSED', 'FAILED', 'AMOUNT_MISMATCH'), {
          maxLength: 4,
        })
        .map((statuses) => statuses.map((s, n) => attempt(n, s, { paidAmount: 100 * (n + 1) }))),
      refunds: fc.array(
        fc.record({
          attemptId: fc.constantFrom('att_0', 'att_1', 'att_2', 'att_3'),
          amount: fc.integer({ min: 1, max: AMOUNT }),
          status: fc.constantFrom('SUCCEEDED', 'FAILED'),
          reason: fc.constantFrom('MERCHANT_REQUEST', 'DUPLICATE_PAYMENT'),
        }),
        { maxLength: 4 },
      ),
    });
    fc.assert(
      fc.property(anyBooksArb, (b) => {
        const verdict = checkMoney(b);
        assert.equal(verdict.inFlight, false);
        if (verdict.inFlight || verdict.ok) {
          assert.ok(!verdict.inFlight && verdict.netAtChannel === verdict.expected);
          return;
        }
        if (verdict.code === 'OVER_COLLECTED') assert.ok(verdict.netAtChannel > verdict.expected);
        if (verdict.code === 'UNDER_COLLECTED') assert.ok(verdict.netAtChannel < verdict.expected);
        if (verdict.code === 'REFUND_WITHOUT_PAYMENT' || verdict.code === 'OVER_REFUNDED') {
          assert.ok(verdict.outTradeNo);
        }
      }),
    );
  });
});
