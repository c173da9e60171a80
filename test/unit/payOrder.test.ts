// The pay-order state machine, scenario by scenario, then as properties over random fact sequences.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  attemptStatuses,
  applyChannelFact,
  closeOrder,
  decidePay,
  factChangesNothing,
  laterStatuses,
  learnsNothing,
  newPayOrderState,
  openAttempt,
  statusesUnchangedBy,
  withOpenedAttempt,
  type Attempt,
  type AttemptStatus,
  type ChannelFact,
  type PayOrderState,
  type PayStatus,
} from '../../src/domain/payOrder';

const AMOUNT = 12_345;
const NOW = 1_700_000_000_000;
const EXPIRES = NOW + 30 * 60 * 1000;

function attempt(n: number, status: AttemptStatus, overrides: Partial<Attempt> = {}): Attempt {
  return {
    id: `att_${n}`,
    outTradeNo: `otn_${n}`,
    channel: 'sandbox',
    method: 'page',
    amount: AMOUNT,
    status,
    ...overrides,
  };
}

function order(
  status: PayStatus,
  attempts: Attempt[],
  overrides: Partial<PayOrderState> = {},
): PayOrderState {
  return {
    id: 'po_TEST',
    amount: AMOUNT,
    currency: 'CNY',
    status,
    needsAttention: false,
    expiresAtMs: EXPIRES,
    attempts,
    ...overrides,
  };
}

function fact(
  n: number,
  status: ChannelFact['status'],
  overrides: Partial<ChannelFact> = {},
): ChannelFact {
  return {
    outTradeNo: `otn_${n}`,
    status,
    ...(status === 'NOT_FOUND' ? {} : { amount: AMOUNT }),
    source: status === 'NOT_FOUND' ? 'query' : 'notify',
    ...overrides,
  };
}

/** Deep-freezes a state so any mutation by the code under test throws. */
function frozen(state: PayOrderState): PayOrderState {
  for (const a of state.attempts) Object.freeze(a);
  Object.freeze(state.attempts);
  return Object.freeze(state);
}

function attemptById(state: PayOrderState, id: string): Attempt {
  const found = state.attempts.find((a) => a.id === id);
  assert.ok(found, `attempt ${id} exists`);
  return found;
}

describe('applyChannelFact: a success notification', () => {
  it('pays the order when it lands on an open (PENDING) attempt', () => {
    const before = frozen(order('PAYING', [attempt(1, 'PENDING')]));
    const { state, outcome } = applyChannelFact(
      before,
      fact(1, 'SUCCEEDED', { channelTradeNo: 'ch_1' }),
    );
    assert.deepEqual(outcome, { kind: 'paid', attemptId: 'att_1' });
    assert.equal(state.status, 'SUCCEEDED');
    assert.equal(state.paidAttemptId, 'att_1');
    assert.equal(state.needsAttention, false);
    assert.equal(attemptById(state, 'att_1').status, 'SUCCEEDED');
    assert.equal(attemptById(state, 'att_1').channelTradeNo, 'ch_1');
    assert.equal(before.status, 'PAYING', 'the input state is not mutated');
  });

  it('pays the order when the create call timed out (UNKNOWN) but the payer paid anyway', () => {
    const { state, outcome } = applyChannelFact(
      frozen(order('PAYING', [attempt(1, 'UNKNOWN')])),
      fact(1, 'SUCCEEDED', { source: 'query' }),
    );
    assert.deepEqual(outcome, { kind: 'paid', attemptId: 'att_1' });
    assert.equal(state.status, 'SUCCEEDED');
  });

  it('keeps the channel trade number already known when the fact carries none', () => {
    const { state } = applyChannelFact(
      frozen(order('PAYING', [attempt(1, 'PENDING', { channelTradeNo: 'ch_known' })])),
      fact(1, 'SUCCEEDED'),
    );
    assert.equal(attemptById(state, 'att_1').channelTradeNo, 'ch_known');
  });

  it('is ignored when repeated (the channel retries its notification)', () => {
    const paid = applyChannelFact(
      frozen(order('PAYING', [attempt(1, 'PENDING')])),
      fact(1, 'SUCCEEDED'),
    ).state;
    const again = applyChannelFact(frozen(paid), fact(1, 'SUCCEEDED', { source: 'query' }));
    assert.equal(again.outcome.kind, 'ignored');
    assert.equal(again.state, paid, 'the very same state comes back');
  });

  it('with a different amount never pays: the channel order is final (AMOUNT_MISMATCH), flagged', () => {
    const before = frozen(order('PAYING', [attempt(1, 'PENDING')]));
    const { state, outcome } = applyChannelFact(before, fact(1, 'SUCCEEDED', { amount: 1 }));
    assert.deepEqual(outcome, {
      kind: 'amountMismatch',
      attemptId: 'att_1',
      expected: AMOUNT,
      reported: 1,
      flagged: { ...before, needsAttention: true },
    });
    assert.equal(state.needsAttention, true);
    assert.equal(state.status, 'PAYING');
    assert.equal(state.paidAttemptId, undefined);
    assert.equal(attemptById(state, 'att_1').status, 'AMOUNT_MISMATCH');
    assert.equal(attemptById(state, 'att_1').paidAmount, 1);
    assert.equal(openAttempt(state), undefined, 'never open again');
  });

  it('with a different amount, repeated, leaves the same state', () => {
    const once = applyChannelFact(
      frozen(order('PAYING', [attempt(1, 'PENDING')])),
      fact(1, 'SUCCEEDED', { amount: AMOUNT + 1 }),
    ).state;
    const twice = applyChannelFact(frozen(once), fact(1, 'SUCCEEDED', { amount: AMOUNT + 1 }));
    assert.equal(twice.outcome.kind, 'ignored');
    assert.deepEqual(twice.state, once);
  });

  it('with the right amount after a mismatched one changes nothing: that channel order is final', () => {
    const flagged = applyChannelFact(
      frozen(order('PAYING', [attempt(1, 'PENDING')])),
      fact(1, 'SUCCEEDED', { amount: AMOUNT * 10 }),
    ).state;
    const { state, outcome } = applyChannelFact(frozen(flagged), fact(1, 'SUCCEEDED'));
    assert.equal(outcome.kind, 'ignored');
    assert.equal(state.status, 'PAYING');
    assert.equal(state.needsAttention, true);
  });

  it('after the order CLOSED is an extra payment (LATE_PAYMENT); the order stays CLOSED', () => {
    const before = frozen(order('CLOSED', [attempt(1, 'CLOSED')]));
    const { state, outcome } = applyChannelFact(before, fact(1, 'SUCCEEDED'));
    assert.deepEqual(outcome, { kind: 'extraPayment', attemptId: 'att_1', reason: 'LATE_PAYMENT' });
    assert.equal(state.status, 'CLOSED');
    assert.equal(state.paidAttemptId, undefined);
    assert.equal(attemptById(state, 'att_1').status, 'SUCCEEDED', 'the money did arrive');
  });

  it('after the order CLOSED with the attempt still open is LATE_PAYMENT too', () => {
    const { outcome } = applyChannelFact(
      frozen(order('CLOSED', [attempt(1, 'PENDING')])),
      fact(1, 'SUCCEEDED'),
    );
    assert.deepEqual(outcome, { kind: 'extraPayment', attemptId: 'att_1', reason: 'LATE_PAYMENT' });
  });

  it('on a second attempt after the order SUCCEEDED is DUPLICATE_PAYMENT; the first stays the paid one', () => {
    const before = frozen(
      order('SUCCEEDED', [attempt(1, 'SUCCEEDED'), attempt(2, 'CLOSED', { channel: 'other' })], {
        paidAttemptId: 'att_1',
      }),
    );
    const { state, outcome } = applyChannelFact(before, fact(2, 'SUCCEEDED'));
    assert.deepEqual(outcome, {
      kind: 'extraPayment',
      attemptId: 'att_2',
      reason: 'DUPLICATE_PAYMENT',
    });
    assert.equal(state.status, 'SUCCEEDED');
    assert.equal(state.paidAttemptId, 'att_1');
    assert.equal(attemptById(state, 'att_2').status, 'SUCCEEDED');
  });

  it('on an attempt we switched away from, while the order is still PAYING, pays the order', () => {
    // The payer scanned the old QR code just before we closed it: the channel has the money.
    const before = frozen(order('PAYING', [attempt(1, 'CLOSED'), attempt(2, 'PENDING')]));
    const { state, outcome } = applyChannelFact(before, fact(1, 'SUCCEEDED'));
    assert.deepEqual(outcome, { kind: 'paid', attemptId: 'att_1' });
    assert.equal(state.paidAttemptId, 'att_1');
    assert.equal(attemptById(state, 'att_2').status, 'PENDING');
  });
});

describe('applyChannelFact: success is final', () => {
  const paid = frozen(
    order('SUCCEEDED', [attempt(1, 'SUCCEEDED', { channelTradeNo: 'ch_1' })], {
      paidAttemptId: 'att_1',
    }),
  );

  for (const status of ['CLOSED', 'PENDING', 'NOT_FOUND'] as const) {
    it(`a ${status} arriving after SUCCEEDED is ignored`, () => {
      const { state, outcome } = applyChannelFact(paid, fact(1, status, { source: 'query' }));
      assert.equal(outcome.kind, 'ignored');
      assert.equal(state, paid);
    });
  }

  it('a close answer for a paid attempt is ignored even when the order is CLOSED', () => {
    const late = frozen(order('CLOSED', [attempt(1, 'SUCCEEDED')]));
    const { state, outcome } = applyChannelFact(late, fact(1, 'CLOSED', { source: 'close' }));
    assert.equal(outcome.kind, 'ignored');
    assert.equal(state, late);
  });
});

describe('applyChannelFact: other facts', () => {
  it('ignores a fact about an unknown outTradeNo', () => {
    const before = frozen(order('PAYING', [attempt(1, 'PENDING')]));
    const { state, outcome } = applyChannelFact(before, {
      outTradeNo: 'otn_someone_else',
      status: 'SUCCEEDED',
      amount: AMOUNT,
      source: 'notify',
    });
    assert.deepEqual(outcome, { kind: 'ignored', reason: 'unknown channel order' });
    assert.equal(state, before);
  });

  it('NOT_FOUND closes an UNKNOWN attempt (the create never reached the channel)', () => {
    const { state, outcome } = applyChannelFact(
      frozen(order('PAYING', [attempt(1, 'UNKNOWN')])),
      fact(1, 'NOT_FOUND'),
    );
    assert.deepEqual(outcome, { kind: 'attemptClosed', attemptId: 'att_1' });
    assert.equal(attemptById(state, 'att_1').status, 'CLOSED');
    assert.equal(state.status, 'PAYING', 'closing an attempt does not close the order');
  });

  for (const status of ['OPENING', 'PENDING', 'CLOSED', 'FAILED', 'SUCCEEDED'] as const) {
    it(`NOT_FOUND leaves a ${status} attempt alone`, () => {
      const before = frozen(order('PAYING', [attempt(1, status)]));
      const { state, outcome } = applyChannelFact(before, fact(1, 'NOT_FOUND'));
      assert.equal(outcome.kind, 'ignored');
      assert.equal(state, before);
    });
  }

  for (const status of ['OPENING', 'PENDING', 'UNKNOWN', 'FAILED'] as const) {
    it(`CLOSED closes a ${status} attempt but not the order`, () => {
      const { state, outcome } = applyChannelFact(
        frozen(order('PAYING', [attempt(1, status)])),
        fact(1, 'CLOSED', { source: 'close' }),
      );
      assert.deepEqual(outcome, { kind: 'attemptClosed', attemptId: 'att_1' });
      assert.equal(attemptById(state, 'att_1').status, 'CLOSED');
      assert.equal(state.status, 'PAYING');
    });
  }

  it('CLOSED on an already CLOSED attempt is ignored', () => {
    const before = frozen(order('PAYING', [attempt(1, 'CLOSED')]));
    const { state, outcome } = applyChannelFact(before, fact(1, 'CLOSED'));
    assert.equal(outcome.kind, 'ignored');
    assert.equal(state, before);
  });

  for (const status of ['OPENING', 'UNKNOWN'] as const) {
    it(`PENDING resolves a ${status} attempt to PENDING`, () => {
      const { state, outcome } = applyChannelFact(
        frozen(order('PAYING', [attempt(1, status)])),
        fact(1, 'PENDING', { source: 'query' }),
      );
      assert.deepEqual(outcome, { kind: 'attemptPending', attemptId: 'att_1' });
      assert.equal(attemptById(state, 'att_1').status, 'PENDING');
    });
  }

  for (const status of ['PENDING', 'CLOSED', 'FAILED'] as const) {
    it(`PENDING on a ${status} attempt is ignored`, () => {
      const before = frozen(order('PAYING', [attempt(1, status)]));
      const { state, outcome } = applyChannelFact(before, fact(1, 'PENDING'));
      assert.equal(outcome.kind, 'ignored');
      assert.equal(state, before);
    });
  }
});

describe('decidePay', () => {
  const sandboxPage = { channel: 'sandbox', method: 'page' };

  it('refuses TOO_MANY_CHANNEL_ORDERS for a new or switched channel order past the cap; reuse stays', () => {
    const two = order('PAYING', [attempt(1, 'CLOSED'), attempt(2, 'PENDING')]);
    const qr = { channel: 'sandbox', method: 'qr' };
    const refused = decidePay(two, qr, NOW, 2);
    assert.equal(refused.kind === 'refuse' && refused.code, 'TOO_MANY_CHANNEL_ORDERS');
    assert.equal(decidePay(two, qr, NOW, 3).kind, 'switch');
    assert.equal(decidePay(two, qr, NOW).kind, 'switch', 'no cap for workflows started before it');
    const reuse = decidePay(two, { channel: 'sandbox', method: 'page' }, NOW, 2);
    assert.equal(reuse.kind, 'reuse');
  });

  it('refuses ALREADY_PAID on a SUCCEEDED order, even after expiry', () => {
    const paid = order('SUCCEEDED', [attempt(1, 'SUCCEEDED')], { paidAttemptId: 'att_1' });
    for (const now of [NOW, EXPIRES + 1]) {
      const decision = decidePay(paid, sandboxPage, now);
      assert.equal(decision.kind, 'refuse');
      assert.equal(decision.kind === 'refuse' && decision.code, 'ALREADY_PAID');
    }
  });

  it('refuses ORDER_CLOSED on a CLOSED order', () => {
    const decision = decidePay(order('CLOSED', [attempt(1, 'CLOSED')]), sandboxPage, NOW);
    assert.equal(decision.kind === 'refuse' && decision.code, 'ORDER_CLOSED');
  });

  it('refuses ORDER_CLOSED once the order has expired by time, though not yet closed', () => {
    for (const state of [order('CREATED', []), order('PAYING', [attempt(1, 'PENDING')])]) {
      for (const now of [EXPIRES, EXPIRES + 1]) {
        const decision = decidePay(state, sandboxPage, now);
        assert.equal(decision.kind === 'refuse' && decision.code, 'ORDER_CLOSED');
      }
    }
  });

  it('still allows paying one millisecond before expiry', () => {
    assert.deepEqual(decidePay(order('CREATED', []), sandboxPage, EXPIRES - 1), { kind: 'open' });
  });

  it('asks a pay request to wait while another one is opening a channel order', () => {
    const opening = attempt(1, 'OPENING');
    for (const request of [sandboxPage, { channel: 'other', method: 'qr' }]) {
      assert.deepEqual(decidePay(order('PAYING', [opening]), request, NOW), {
        kind: 'wait',
        attempt: opening,
      });
    }
  });

  for (const status of ['UNKNOWN'] as const) {
    it(`refuses STATUS_UNKNOWN while the open attempt is ${status}`, () => {
      const decision = decidePay(order('PAYING', [attempt(1, status)]), sandboxPage, NOW);
      assert.equal(decision.kind, 'refuse');
      if (decision.kind !== 'refuse') return;
      assert.equal(decision.code, 'STATUS_UNKNOWN');
      assert.match(decision.message, /otn_1/);
    });

    it(`refuses STATUS_UNKNOWN while ${status}, even for another channel`, () => {
      const decision = decidePay(
        order('PAYING', [attempt(1, status)]),
        { channel: 'other', method: 'qr' },
        NOW,
      );
      assert.equal(decision.kind === 'refuse' && decision.code, 'STATUS_UNKNOWN');
    });
  }

  it('reuses the PENDING attempt for the same channel and method', () => {
    const pending = attempt(2, 'PENDING', { payUrl: 'http://pay/2' });
    const decision = decidePay(order('PAYING', [attempt(1, 'CLOSED'), pending]), sandboxPage, NOW);
    assert.deepEqual(decision, { kind: 'reuse', attempt: pending });
  });

  it('switches (closing the PENDING attempt) for another channel', () => {
    const pending = attempt(1, 'PENDING');
    const decision = decidePay(
      order('PAYING', [pending]),
      { channel: 'other', method: 'page' },
      NOW,
    );
    assert.deepEqual(decision, { kind: 'switch', close: pending });
  });

  it('switches for the same channel but another method', () => {
    const pending = attempt(1, 'PENDING');
    const decision = decidePay(
      order('PAYING', [pending]),
      { channel: 'sandbox', method: 'qr' },
      NOW,
    );
    assert.deepEqual(decision, { kind: 'switch', close: pending });
  });

  it('opens a new attempt when there is none', () => {
    assert.deepEqual(decidePay(order('CREATED', []), sandboxPage, NOW), { kind: 'open' });
  });

  it('opens a new attempt when every earlier one is CLOSED or FAILED', () => {
    const state = order('PAYING', [attempt(1, 'CLOSED'), attempt(2, 'FAILED')]);
    assert.deepEqual(decidePay(state, sandboxPage, NOW), { kind: 'open' });
  });
});

describe('closeOrder', () => {
  for (const status of ['CREATED', 'PAYING'] as const) {
    it(`closes a ${status} order and leaves its attempts alone`, () => {
      const before = frozen(order(status, status === 'PAYING' ? [attempt(1, 'PENDING')] : []));
      const after = closeOrder(before);
      assert.equal(after.status, 'CLOSED');
      assert.deepEqual(after.attempts, before.attempts);
      assert.equal(before.status, status, 'the input state is not mutated');
    });
  }

  it('leaves a paid order paid', () => {
    const paid = frozen(order('SUCCEEDED', [attempt(1, 'SUCCEEDED')], { paidAttemptId: 'att_1' }));
    assert.equal(closeOrder(paid), paid);
  });

  it('is idempotent on a CLOSED order', () => {
    const closed = frozen(order('CLOSED', []));
    assert.equal(closeOrder(closed), closed);
  });
});

describe('newPayOrderState and withOpenedAttempt', () => {
  it('a new order is CREATED, without attempts or attention', () => {
    const state = newPayOrderState({
      id: 'po_1',
      amount: AMOUNT,
      currency: 'CNY',
      expiresAtMs: EXPIRES,
    });
    assert.equal(state.status, 'CREATED');
    assert.equal(state.needsAttention, false);
    assert.deepEqual(state.attempts, []);
  });

  it('the first attempt moves a CREATED order to PAYING; a later one replaces itself by id', () => {
    const opened = withOpenedAttempt(frozen(order('CREATED', [])), attempt(1, 'OPENING'));
    assert.equal(opened.status, 'PAYING');
    const updated = withOpenedAttempt(frozen(opened), attempt(1, 'PENDING'));
    assert.equal(updated.attempts.length, 1);
    assert.equal(updated.attempts[0]?.status, 'PENDING');
  });
});

// ---------------------------------------------------------------------------------------------
// Properties over random sequences of channel facts (and the odd closeOrder).

type Command = { kind: 'fact'; fact: ChannelFact } | { kind: 'close' };

const factStatuses = ['PENDING', 'SUCCEEDED', 'CLOSED', 'NOT_FOUND'] as const;
const sources = ['notify', 'query', 'close'] as const;

function factArb(attemptCount: number): fc.Arbitrary<ChannelFact> {
  return fc
    .record({
      target: fc.oneof(
        { weight: 12, arbitrary: fc.integer({ min: 1, max: attemptCount }) },
        { weight: 1, arbitrary: fc.constant(99) }, // an outTradeNo we never issued
      ),
      status: fc.oneof(
        { weight: 3, arbitrary: fc.constant<ChannelFact['status']>('SUCCEEDED') },
        { weight: 4, arbitrary: fc.constantFrom(...factStatuses) },
      ),
      rightAmount: fc.boolean(),
      wrongAmount: fc.integer({ min: 1, max: 100_000_000 }).filter((a) => a !== AMOUNT),
      channelTradeNo: fc.option(fc.constantFrom('ch_a', 'ch_b'), { nil: undefined }),
      source: fc.constantFrom(...sources),
    })
    .map(({ target, status, rightAmount, wrongAmount, channelTradeNo, source }) => ({
      outTradeNo: `otn_${target}`,
      status,
      ...(status === 'NOT_FOUND' ? {} : { amount: rightAmount ? AMOUNT : wrongAmount }),
      ...(channelTradeNo === undefined ? {} : { channelTradeNo }),
      source,
    }));
}

function commandArb(attemptCount: number, withCloses: boolean): fc.Arbitrary<Command> {
  const factCommand = factArb(attemptCount).map((f): Command => ({ kind: 'fact', fact: f }));
  if (!withCloses) return factCommand;
  return fc.oneof(
    { weight: 10, arbitrary: factCommand },
    { weight: 1, arbitrary: fc.constant<Command>({ kind: 'close' }) },
  );
}

interface Scenario {
  initial: PayOrderState;
  commands: Command[];
}

/** A realistic starting point: 1-3 attempts, at most one open, the order PAYING, CLOSED or SUCCEEDED. */
function scenarioArb(withCloses: boolean): fc.Arbitrary<Scenario> {
  return fc.integer({ min: 1, max: 3 }).chain((n) =>
    fc
      .record({
        orderStatus: fc.constantFrom<PayStatus>('PAYING', 'PAYING', 'CLOSED', 'SUCCEEDED'),
        settled: fc.array(fc.constantFrom<AttemptStatus>('CLOSED', 'FAILED'), {
          minLength: n,
          maxLength: n,
        }),
        openIndex: fc.integer({ min: -1, max: n - 1 }),
        openStatus: fc.constantFrom<AttemptStatus>('OPENING', 'PENDING', 'UNKNOWN'),
        paidIndex: fc.integer({ min: 0, max: n - 1 }),
        needsAttention: fc.boolean(),
        commands: fc.array(commandArb(n, withCloses), { minLength: 1, maxLength: 25 }),
      })
      .map(
        ({ orderStatus, settled, openIndex, openStatus, paidIndex, needsAttention, commands }) => {
          const statuses = [...settled];
          if (openIndex >= 0) statuses[openIndex] = openStatus;
          if (orderStatus === 'SUCCEEDED') statuses[paidIndex] = 'SUCCEEDED';
          const attempts = statuses.map((s, i) =>
            attempt(i + 1, s, { channel: i % 2 === 0 ? 'sandbox' : 'other' }),
          );
          const initial = order(orderStatus, attempts, {
            needsAttention,
            ...(orderStatus === 'SUCCEEDED' ? { paidAttemptId: `att_${paidIndex + 1}` } : {}),
          });
          return { initial, commands };
        },
      ),
  );
}

/** Every (from -> to) an attempt may take on one fact; staying put is always allowed. */
const allowedAttemptMoves: Record<
  ChannelFact['status'],
  Partial<Record<AttemptStatus, AttemptStatus>>
> = {
  SUCCEEDED: {
    OPENING: 'SUCCEEDED',
    PENDING: 'SUCCEEDED',
    UNKNOWN: 'SUCCEEDED',
    CLOSED: 'SUCCEEDED',
    FAILED: 'SUCCEEDED',
  },
  CLOSED: { OPENING: 'CLOSED', PENDING: 'CLOSED', UNKNOWN: 'CLOSED', FAILED: 'CLOSED' },
  PENDING: { OPENING: 'PENDING', UNKNOWN: 'PENDING' },
  NOT_FOUND: { UNKNOWN: 'CLOSED' },
};

interface Step {
  before: PayOrderState;
  command: Command;
  after: PayOrderState;
  outcome?: ReturnType<typeof applyChannelFact>['outcome'];
}

function run(scenario: Scenario): Step[] {
  const steps: Step[] = [];
  let state = frozen(scenario.initial);
  for (const command of scenario.commands) {
    if (command.kind === 'close') {
      const after = frozen(closeOrder(state));
      steps.push({ before: state, command, after });
      state = after;
    } else {
      const { state: after, outcome } = applyChannelFact(state, command.fact);
      steps.push({ before: state, command, after: frozen(after), outcome });
      state = after;
    }
  }
  return steps;
}

function finalState(scenario: Scenario): PayOrderState {
  const steps = run(scenario);
  return steps.length === 0 ? scenario.initial : steps[steps.length - 1]!.after;
}

/** The attempt a fact is about, before it applies, and what kind of success it is. */
function classify(before: PayOrderState, fact: ChannelFact) {
  const target = before.attempts.find((a) => a.outTradeNo === fact.outTradeNo);
  const newSuccess = fact.status === 'SUCCEEDED' && target !== undefined && !learnsNothing(target);
  const rightAmount = fact.amount === target?.amount;
  return {
    target,
    goodSuccess: newSuccess && rightAmount,
    mismatchedSuccess: newSuccess && !rightAmount,
  };
}

const numRuns = 300;

describe('applyChannelFact properties (random fact sequences)', () => {
  for (const withCloses of [false, true]) {
    const label = withCloses ? 'facts and closeOrder interleaved' : 'facts only';

    it(`(a) once SUCCEEDED, the order stays SUCCEEDED with the same paidAttemptId [${label}]`, () => {
      fc.assert(
        fc.property(scenarioArb(withCloses), (scenario) => {
          for (const { before, after } of run(scenario)) {
            if (before.status === 'SUCCEEDED') {
              assert.equal(after.status, 'SUCCEEDED');
              assert.equal(after.paidAttemptId, before.paidAttemptId);
            }
          }
        }),
        { numRuns },
      );
    });

    it(`(a2) a fact for an attempt that learnsNothing is ignored, so the inbox may skip it [${label}]`, () => {
      fc.assert(
        fc.property(scenarioArb(withCloses), (scenario) => {
          for (const { before, command, after } of run(scenario)) {
            if (command.kind !== 'fact') continue;
            const target = before.attempts.find((a) => a.outTradeNo === command.fact.outTradeNo);
            if (target && learnsNothing(target)) assert.equal(after, before);
          }
        }),
        { numRuns },
      );
    });

    it(`(a3) a fact the books can tell changes nothing is ignored, so the inbox acknowledges it without a signal [${label}]`, () => {
      fc.assert(
        fc.property(scenarioArb(withCloses), (scenario) => {
          for (const { before, command, after } of run(scenario)) {
            if (command.kind !== 'fact') continue;
            const target = before.attempts.find((a) => a.outTradeNo === command.fact.outTradeNo);
            if (target && factChangesNothing(target.status, command.fact)) {
              assert.equal(after, before);
            }
          }
        }),
        { numRuns },
      );
    });

    it(`(a4) a channel order only moves to a later status, so books that trail the workflow never hold one it may return to [${label}]`, () => {
      fc.assert(
        fc.property(scenarioArb(withCloses), (scenario) => {
          for (const { before, after } of run(scenario)) {
            before.attempts.forEach((prev, i) => {
              const next = after.attempts[i]!;
              if (next.status === prev.status) return;
              assert.ok(
                laterStatuses[prev.status].includes(next.status),
                `${prev.status} -> ${next.status}`,
              );
            });
          }
        }),
        { numRuns },
      );
    });

    it(`(b) the order ends SUCCEEDED iff a right-amount success hit an attempt while it was not CLOSED; the first such attempt is the paid one [${label}]`, () => {
      fc.assert(
        fc.property(scenarioArb(withCloses), (scenario) => {
          let expectedPaid: string | undefined =
            scenario.initial.status === 'SUCCEEDED' ? scenario.initial.paidAttemptId : undefined;
          for (const { before, command } of run(scenario)) {
            if (command.kind !== 'fact' || expectedPaid !== undefined) continue;
            const { target, goodSuccess } = classify(before, command.fact);
            if (goodSuccess && before.status !== 'CLOSED') expectedPaid = target!.id;
          }
          const end = finalState(scenario);
          assert.equal(end.status === 'SUCCEEDED', expectedPaid !== undefined);
          assert.equal(end.paidAttemptId, expectedPaid);
        }),
        { numRuns },
      );
    });

    it(`(c) paidAttemptId is set iff SUCCEEDED, and names a SUCCEEDED attempt of the order's amount [${label}]`, () => {
      fc.assert(
        fc.property(scenarioArb(withCloses), (scenario) => {
          for (const { after } of run(scenario)) {
            assert.equal(after.paidAttemptId !== undefined, after.status === 'SUCCEEDED');
            if (after.paidAttemptId === undefined) continue;
            const paid = attemptById(after, after.paidAttemptId);
            assert.equal(paid.status, 'SUCCEEDED');
            assert.equal(paid.amount, after.amount);
          }
        }),
        { numRuns },
      );
    });

    it(`(d) an attempt never leaves SUCCEEDED, only moves along allowed edges, and only the addressed attempt moves [${label}]`, () => {
      fc.assert(
        fc.property(scenarioArb(withCloses), (scenario) => {
          for (const { before, command, after } of run(scenario)) {
            assert.equal(after.attempts.length, before.attempts.length);
            before.attempts.forEach((prev, i) => {
              const next = after.attempts[i]!;
              assert.equal(next.id, prev.id);
              assert.equal(next.outTradeNo, prev.outTradeNo);
              assert.equal(next.amount, prev.amount);
              assert.equal(next.channel, prev.channel);
              assert.equal(next.method, prev.method);
              if (learnsNothing(prev)) assert.equal(next.status, prev.status);
              if (next.status === prev.status) return;
              assert.equal(command.kind, 'fact', 'closeOrder never moves an attempt');
              if (command.kind !== 'fact') return;
              assert.equal(prev.outTradeNo, command.fact.outTradeNo, 'only the addressed attempt');
              const otherAmount =
                command.fact.status === 'SUCCEEDED' && command.fact.amount !== prev.amount;
              assert.equal(
                otherAmount
                  ? 'AMOUNT_MISMATCH'
                  : allowedAttemptMoves[command.fact.status][prev.status],
                next.status,
                `${prev.status} -> ${next.status} on ${command.fact.status}`,
              );
            });
          }
        }),
        { numRuns },
      );
    });

    it(`(e) applying the same fact twice in a row gives the same state as applying it once [${label}]`, () => {
      fc.assert(
        fc.property(scenarioArb(withCloses), (scenario) => {
          for (const { command, after, outcome } of run(scenario)) {
            if (command.kind !== 'fact') continue;
            const again = applyChannelFact(after, command.fact);
            assert.deepEqual(again.state, after);
            // A repeat is only ever news when it repeats an amount the operator must look at.
            if (outcome?.kind !== 'amountMismatch') assert.equal(again.outcome.kind, 'ignored');
          }
        }),
        { numRuns },
      );
    });

    it(`(f) needsAttention turns true exactly on a mismatched-amount success and otherwise stays as before [${label}]`, () => {
      fc.assert(
        fc.property(scenarioArb(withCloses), (scenario) => {
          for (const { before, command, after } of run(scenario)) {
            const mismatch =
              command.kind === 'fact' && classify(before, command.fact).mismatchedSuccess;
            assert.equal(after.needsAttention, before.needsAttention || mismatch);
          }
        }),
        { numRuns },
      );
    });

    it(`(g) the outcome tells what happened: paid / extraPayment / amountMismatch / ignored [${label}]`, () => {
      fc.assert(
        fc.property(scenarioArb(withCloses), (scenario) => {
          for (const { before, command, after, outcome } of run(scenario)) {
            if (command.kind !== 'fact' || !outcome) continue;
            const { target, goodSuccess, mismatchedSuccess } = classify(before, command.fact);
            if (!target) {
              assert.equal(outcome.kind, 'ignored');
            } else if (goodSuccess && before.status === 'SUCCEEDED') {
              assert.deepEqual(outcome, {
                kind: 'extraPayment',
                attemptId: target.id,
                reason: 'DUPLICATE_PAYMENT',
              });
            } else if (goodSuccess && before.status === 'CLOSED') {
              assert.deepEqual(outcome, {
                kind: 'extraPayment',
                attemptId: target.id,
                reason: 'LATE_PAYMENT',
              });
            } else if (goodSuccess) {
              assert.deepEqual(outcome, { kind: 'paid', attemptId: target.id });
            } else if (mismatchedSuccess) {
              assert.equal(outcome.kind, 'amountMismatch');
            } else if (command.fact.status === 'SUCCEEDED') {
              assert.equal(outcome.kind, 'ignored', 'success already applied');
            }
            if (outcome.kind === 'ignored') assert.equal(after, before);
            // Facts never close the order and never reopen it.
            if (before.status === 'CLOSED') assert.equal(after.status, 'CLOSED');
            if (after.status === 'CLOSED') assert.equal(before.status, 'CLOSED');
          }
        }),
        { numRuns },
      );
    });
  }

  it('(h) the paid/unpaid verdict does not depend on the order facts arrive in', () => {
    // Without closeOrder, from a PAYING order: SUCCEEDED iff any right-amount success exists.
    // A channel takes one payment per channel order: its successes all report one amount.
    const oneAmountPerChannelOrder = (s: Scenario) => {
      const paid = new Map<string, number | undefined>();
      return s.commands.every((c) => {
        if (c.kind !== 'fact' || c.fact.status !== 'SUCCEEDED') return true;
        if (!paid.has(c.fact.outTradeNo)) paid.set(c.fact.outTradeNo, c.fact.amount);
        return paid.get(c.fact.outTradeNo) === c.fact.amount;
      });
    };
    fc.assert(
      fc.property(
        scenarioArb(false).filter(
          (s) => s.initial.status === 'PAYING' && oneAmountPerChannelOrder(s),
        ),
        fc.infiniteStream(fc.nat()),
        (scenario, randoms) => {
          const shuffled = [...scenario.commands];
          for (let i = shuffled.length - 1; i > 0; i--) {
            const j = randoms.next().value % (i + 1);
            [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
          }
          const a = finalState(scenario);
          const b = finalState({ ...scenario, commands: shuffled });
          assert.equal(a.status, b.status);
          const anyGoodSuccess = scenario.commands.some(
            (c) =>
              c.kind === 'fact' &&
              c.fact.status === 'SUCCEEDED' &&
              c.fact.amount === AMOUNT &&
              scenario.initial.attempts.some((at) => at.outTradeNo === c.fact.outTradeNo),
          );
          assert.equal(a.status, anyGoodSuccess ? 'SUCCEEDED' : 'PAYING');
        },
      ),
      { numRuns },
    );
  });
});

describe('a success that does not say how much was paid', () => {
  it('never pays the order: it is flagged for an operator', () => {
    const { amount: _omitted, ...silent } = fact(1, 'SUCCEEDED');
    const { state, outcome } = applyChannelFact(order('PAYING', [attempt(1, 'PENDING')]), silent);
    assert.equal(outcome.kind, 'amountMismatch');
    assert.equal(state.status, 'PAYING');
    assert.equal(state.needsAttention, true);
  });
});

describe('what the books can tell a notification changes nothing', () => {
  const fact = (status: ChannelFact['status'], amount = AMOUNT): ChannelFact => ({
    outTradeNo: 'otn_1',
    status,
    amount,
    source: 'notify',
  });

  it('a "waiting for the payer" for a channel order open at the channel changes nothing', () => {
    assert.equal(factChangesNothing('PENDING', fact('PENDING')), true);
    assert.equal(factChangesNothing('CLOSED', fact('PENDING')), true);
  });

  it('the same news may still open a channel order whose opening the books have not seen end', () => {
    assert.equal(factChangesNothing('OPENING', fact('PENDING')), false);
    assert.equal(factChangesNothing('UNKNOWN', fact('PENDING')), false);
  });

  it('a success changes nothing only for a paid channel order, whatever amount it reports', () => {
    for (const status of ['OPENING', 'UNKNOWN', 'PENDING', 'CLOSED', 'FAILED'] as const) {
      assert.equal(factChangesNothing(status, fact('SUCCEEDED')), false, status);
    }
    assert.equal(factChangesNothing('SUCCEEDED', fact('SUCCEEDED', 1)), true);
    assert.equal(factChangesNothing('AMOUNT_MISMATCH', fact('SUCCEEDED')), true);
  });

  it('a close changes nothing for a closed or paid channel order, but closes an open or refused one', () => {
    assert.equal(factChangesNothing('CLOSED', fact('CLOSED')), true);
    assert.equal(factChangesNothing('SUCCEEDED', fact('CLOSED')), true);
    assert.equal(factChangesNothing('PENDING', fact('CLOSED')), false);
    assert.equal(factChangesNothing('FAILED', fact('CLOSED')), false);
  });

  it('the statuses a fact leaves unchanged turn on its status alone, whatever else it says', () => {
    // The first fact of each status fills statusesUnchangedBy's table; every other one must agree.
    for (const status of ['PENDING', 'SUCCEEDED', 'CLOSED', 'NOT_FOUND'] as const) {
      for (const source of ['notify', 'query', 'close', 'statement'] as const) {
        for (const amount of [AMOUNT, undefined, 0, AMOUNT + 1]) {
          for (const channelTradeNo of [undefined, 'ct_1']) {
            for (const declineCode of [undefined, 'DECLINED']) {
              const each: ChannelFact = {
                outTradeNo: 'otn_2',
                status,
                source,
                ...(amount === undefined ? {} : { amount }),
                ...(channelTradeNo ? { channelTradeNo } : {}),
                ...(declineCode ? { declineCode } : {}),
              };
              const unchanged = attemptStatuses.filter((s) => factChangesNothing(s, each));
              assert.deepEqual(statusesUnchangedBy(each), unchanged, JSON.stringify(each));
            }
          }
        }
      }
    }
  });
});
