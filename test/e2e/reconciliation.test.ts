// The daily reconciliation against the sandbox channel's statement: the simulator makes every
// class of difference (lost notifications even queries missed, a late payment after the workflow
// ended, a payment outside any attempt, a reversed payment, another amount, a refund made at the
// console); one run settles what can be settled through the workflows and hands exactly the rest
// to an operator, and a second run of the same day changes nothing.
// @cluster: books that disagree with the channel statement.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { businessDayOf } from '../../src/domain/businessDay';
import { dayBefore } from '../../src/domain/reconciliation';
import { ensureSchedules, scheduleIds } from '../../src/schedules';
import { expectMoneyConserved } from '../support/money';
import {
  eventually,
  runTemporalAddress,
  startTestSystem,
  type TestSystem,
} from '../support/system';
import { payingOrder } from '../support/payments';

let system: TestSystem;
before(async () => {
  system = await startTestSystem({
    ownDatabase: true,
    env: {
      QUERY_SCHEDULE_SECONDS: '1,1,2',
      // Queries fail on purpose below; the order must reach the operators only through reconciliation.
      QUERY_ATTENTION_AFTER_FAILURES: '1000',
      LATE_WINDOW_SECONDS: '20',
      RECONCILE_CHANNELS: 'sandbox',
      // Every difference here is of one day; the holding pool has its own file.
      RECONCILE_HOLD_DAYS: '0',
      // The schedules are made below; the safety net must not scan in the middle of this file.
      SAFETY_NET_INTERVAL_SECONDS: '86400',
    },
  });
});
after(async () => {
  await system?.stop();
});

const today = businessDayOf(new Date());

/** The payer pays while every notification and query of this channel order is lost. */
async function paidUnheard(outTradeNo: string) {
  await system.simulator('POST', `/control/payments/${outTradeNo}/faults`, {
    dropNotifications: true,
    failQueries: true,
  });
  const paid = await system.simulator('POST', `/control/payments/${outTradeNo}/pay`);
  assert.equal(paid.status, 200);
}

/** A pot of tea: the order of every scenario here. */
const tea = (amount: number) => ({ prefix: 'rec', amount, subject: 'Tea', expiresInSeconds: 600 });

async function settled(id: string, status: string) {
  return eventually(
    async () => {
      const v = await system.payOrder(id);
      return (
        v.status === status &&
        v.refunds.every((r: { status: string }) => r.status !== 'PROCESSING') &&
        v
      );
    },
    { what: `${id} to be ${status}` },
  );
}

const kinds = (items: { kind: string }[]) => items.map((i) => i.kind).sort();

describe('reconciliation of a day with every class of difference', () => {
  const orders: Record<string, { id: string; outTradeNo: string }> = {};
  let first: any;

  it('finds each difference, settles the missed payments and hands the rest to operators', async () => {
    // Paid after its workflow ended (late window over), the success lost: only the statement knows.
    orders.afterWorkflow = await payingOrder(system, tea(1_100));
    await system.api('POST', `/v1/pay-orders/${orders.afterWorkflow.id}/close`);
    await system.workflowCompleted(orders.afterWorkflow.id, { timeoutMs: 60_000 });
    await paidUnheard(orders.afterWorkflow.outTradeNo);

    // Matched, then partly refunded at the channel's console, outside paycenter.
    orders.matched = await payingOrder(system, tea(1_200));
    await system.simulator('POST', `/control/payments/${orders.matched.outTradeNo}/pay`);
    await settled(orders.matched.id, 'SUCCEEDED');
    const consoleRefund = await system.simulator(
      'POST',
      `/control/payments/${orders.matched.outTradeNo}/refunds`,
      { amount: 200, refundNo: `CONSOLE-${orders.matched.outTradeNo}` },
    );
    assert.equal(consoleRefund.status, 201);

    // Paid while open; notifications and queries lost.
    orders.open = await payingOrder(system, tea(1_300));
    await paidUnheard(orders.open.outTradeNo);

    // Paid, then reversed by the channel: our books hold a payment the channel does not (短款).
    orders.reversed = await payingOrder(system, tea(1_400));
    await system.simulator('POST', `/control/payments/${orders.reversed.outTradeNo}/pay`);
    await settled(orders.reversed.id, 'SUCCEEDED');
    assert.equal(
      (await system.simulator('POST', `/control/payments/${orders.reversed.outTradeNo}/reverse`))
        .status,
      200,
    );

    // The payer paid another amount than the order's: refunded at once, the order flagged.
    orders.otherAmount = await payingOrder(system, tea(1_500));
    await system.simulator('POST', `/control/payments/${orders.otherAmount.outTradeNo}/pay`, {
      amount: 1_499,
    });
    await eventually(async () => {
      const v = await system.payOrder(orders.otherAmount!.id);
      return v.needsAttention && v.refunds[0]?.status === 'SUCCEEDED';
    });

    // A payment no attempt of ours asked for.
    const outside = await system.simulator('POST', '/control/payments', {
      channel: 'sandbox',
      outTradeNo: `OUTSIDE${Date.now()}`,
      amount: 1_600,
    });
    assert.equal(outside.status, 201);

    // Closed, then paid late within the late window; the success lost.
    orders.lateInWindow = await payingOrder(system, tea(1_700));
    await system.api('POST', `/v1/pay-orders/${orders.lateInWindow.id}/close`);
    await paidUnheard(orders.lateInWindow.outTradeNo);

    const run = await system.ops('POST', '/ops/reconciliations', {
      channel: 'sandbox',
      day: today,
    });
    assert.equal(run.status, 200, JSON.stringify(run.body));
    first = run.body;
    assert.equal(first.run, 1);
    // The payment of another amount and its refund match what the books hold.
    assert.equal(first.matched.payments, 2);
    assert.equal(first.classes.MISSED_PAYMENT.count, 3);
    assert.equal(first.classes.MISSED_PAYMENT.amounts.CNY, 1_100 + 1_300 + 1_700);
    assert.deepEqual(kinds(first.forOperators), [
      'MISSING_AT_CHANNEL',
      'UNKNOWN_PAYMENT',
      'UNKNOWN_REFUND',
    ]);
    assert.deepEqual(
      first.autoCorrected.map((i: { reference: string }) => i.reference).sort(),
      [orders.afterWorkflow, orders.open, orders.lateInWindow].map((o) => o.outTradeNo).sort(),
    );

    // The corrections went through the workflows and their rules.
    const open = await settled(orders.open.id, 'SUCCEEDED');
    assert.deepEqual(open.refunds, []);
    for (const late of [orders.lateInWindow, orders.afterWorkflow]) {
      const closed = await eventually(async () => {
        const v = await system.payOrder(late.id);
        return v.refunds.length === 1 && v.refunds[0].status === 'SUCCEEDED' && v;
      });
      assert.equal(closed.status, 'CLOSED');
      assert.equal(closed.refunds[0].reason, 'LATE_PAYMENT');
    }
    for (const order of [orders.open, orders.lateInWindow, orders.afterWorkflow]) {
      await expectMoneyConserved(system, order.id);
    }

    // What cannot be decided automatically is on the operators' list, and nothing else.
    const flagged: { id: string; attentionCode: string; attentionReason: string }[] = (
      await system.ops('GET', '/ops/exceptions')
    ).body.items;
    assert.deepEqual(
      flagged.map((i) => i.id).sort(),
      [orders.matched, orders.reversed, orders.otherAmount].map((o) => o.id).sort(),
    );
    // The books say why, as the Temporal UI's AttentionReason does.
    const codeOf = (id: string) => flagged.find((i) => i.id === id)?.attentionCode;
    assert.equal(codeOf(orders.matched.id), 'RECONCILIATION_DIFFERENCE');
    assert.equal(codeOf(orders.reversed.id), 'RECONCILIATION_DIFFERENCE');
    assert.equal(codeOf(orders.otherAmount.id), 'AMOUNT_MISMATCH');
    assert.ok(flagged.every((i) => i.attentionReason.length > 0));
    const differences = (await system.ops('GET', '/ops/reconciliation-differences')).body.items;
    assert.deepEqual(kinds(differences), kinds(first.forOperators));
    const reversal = differences.find((d: { kind: string }) => d.kind === 'MISSING_AT_CHANNEL');
    assert.equal(reversal.urgent, true);
    assert.equal(reversal.payOrderId, orders.reversed.id);
    assert.equal(reversal.evidence.book.outTradeNo, orders.reversed.outTradeNo);
  });

  it('changes nothing when the same day runs again', async () => {
    const before = await snapshot();
    const run = await system.ops('POST', '/ops/reconciliations', {
      channel: 'sandbox',
      day: today,
    });
    assert.equal(run.status, 200, JSON.stringify(run.body));
    const second = run.body;
    assert.equal(second.run, 2);
    assert.equal(second.classes.MISSED_PAYMENT, undefined);
    assert.equal(second.settledSinceLastRun, 3);
    // The late payments and their refunds now match, line for line.
    assert.equal(second.matched.payments, 5);
    assert.equal(second.matched.refunds, 3);
    assert.deepEqual(
      second.forOperators.map((i: { id: string }) => i.id).sort(),
      first.forOperators.map((i: { id: string }) => i.id).sort(),
    );
    assert.deepEqual(
      second.autoCorrected.map((i: { resolution: string }) => i.resolution),
      ['CORRECTED', 'CORRECTED', 'CORRECTED'],
    );
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    assert.deepEqual(await snapshot(), before);

    const stored = await system.ops('GET', `/ops/reconciliations/sandbox/${today}`);
    assert.equal(stored.body.runs, 2);
    assert.equal(stored.body.differences.length, 6);
  });

  it('records an operator resolving a difference, once', async () => {
    const item = first.forOperators.find((i: { kind: string }) => i.kind === 'UNKNOWN_PAYMENT');
    const resolved = await system.ops(
      'POST',
      `/ops/reconciliation-differences/${item.id}/resolve`,
      {
        note: 'another shop on our merchant account; they refunded it',
      },
    );
    assert.equal(resolved.status, 200);
    assert.equal(resolved.body.resolution, 'RESOLVED');
    const again = await system.ops('POST', `/ops/reconciliation-differences/${item.id}/resolve`, {
      note: 'twice',
    });
    assert.equal(again.status, 409);
    assert.equal(again.body.code, 'DIFFERENCE_NOT_OPEN');
    // A rerun keeps the operator's decision.
    const rerun = await system.ops('POST', '/ops/reconciliations', {
      channel: 'sandbox',
      day: today,
    });
    assert.equal(rerun.body.forOperators.length, 2);
  });

  async function snapshot() {
    const views = [];
    for (const order of Object.values(orders)) views.push(await system.payOrder(order.id));
    const trades = (await system.simulator('GET', '/control/payments')).body.items;
    return { views, trades };
  }
});

describe("each channel's own statement format", () => {
  for (const [channel, method] of [
    ['alipay', 'qr'],
    ['wechatpay', 'native'],
  ] as const) {
    it(`${channel}: settles a payment only its bill shows, then matches it and a refund`, async () => {
      const order = await payingOrder(system, tea(2_345), { channel, method });
      await paidUnheard(order.outTradeNo);
      const first = await system.ops('POST', '/ops/reconciliations', { channel, day: today });
      assert.equal(first.status, 200, JSON.stringify(first.body));
      assert.equal(first.body.classes.MISSED_PAYMENT.count, 1);
      assert.equal(first.body.classes.MISSED_PAYMENT.amounts.CNY, 2_345);
      await settled(order.id, 'SUCCEEDED');
      // The channel answers queries again (WeChat Pay refunds are followed by query).
      await system.simulator('DELETE', `/control/payments/${order.outTradeNo}/faults`);

      const refund = await system.api('POST', '/v1/refunds', {
        payOrderId: order.id,
        merchantRefundNo: `rec-${order.outTradeNo}`,
        amount: 345,
      });
      assert.equal(refund.status, 201);
      await eventually(
        async () =>
          (await system.api('GET', `/v1/refunds/${refund.body.id}`)).body.status === 'SUCCEEDED',
      );
      const second = (await system.ops('POST', '/ops/reconciliations', { channel, day: today }))
        .body;
      assert.deepEqual(second.classes, {});
      assert.deepEqual(second.matched, { payments: 1, refunds: 1, amounts: { CNY: 2_690 } });
      assert.deepEqual(second.forOperators, []);
    });
  }

  it('bankcard: matches a card payment and its refund in the fixed-width statement', async () => {
    await system.simulator('POST', '/bankcard/control/next-card', { outcome: 'success' });
    const order = await payingOrder(system, tea(3_456), { channel: 'bankcard', method: 'quick' });
    await settled(order.id, 'SUCCEEDED');
    const refund = await system.api('POST', '/v1/refunds', {
      payOrderId: order.id,
      merchantRefundNo: `rec-${order.outTradeNo}`,
      amount: 456,
    });
    assert.equal(refund.status, 201);
    await eventually(
      async () =>
        (await system.api('GET', `/v1/refunds/${refund.body.id}`)).body.status === 'SUCCEEDED',
    );
    const run = (
      await system.ops('POST', '/ops/reconciliations', { channel: 'bankcard', day: today })
    ).body;
    assert.deepEqual(run.classes, {});
    assert.deepEqual(run.matched, { payments: 1, refunds: 1, amounts: { CNY: 3_912 } });
  });
});

describe('reconciliation requests', () => {
  it('names what is wrong with a bad request', async () => {
    const cases: [unknown, number, string][] = [
      [{ channel: 'sandbox', day: '2026-02-30' }, 400, 'body.day'],
      [{ channel: 'sandbox', day: '25/11/2026' }, 400, 'body.day'],
      [{ channel: 'nowhere', day: today }, 400, 'channel'],
      [{ channel: 'sandbox', day: '2999-01-01' }, 400, 'day'],
      [{ channel: 'sandbox' }, 400, 'body.day'],
      [{ channel: 'sandbox', day: today, extra: 1 }, 400, 'body'],
    ];
    for (const [body, status, field] of cases) {
      const answer = await system.ops('POST', '/ops/reconciliations', body);
      assert.equal(answer.status, status, JSON.stringify(body));
      assert.equal(answer.contentType.startsWith('application/problem+json'), true);
      assert.ok(
        answer.body.errors?.some((e: { field: string }) => e.field.startsWith(field)),
        JSON.stringify(answer.body),
      );
    }
    const unauthenticated = await system.api('POST', '/ops/reconciliations', {
      channel: 'sandbox',
      day: today,
    });
    assert.equal(unauthenticated.status, 401);
    const missing = await system.ops('GET', '/ops/reconciliations/sandbox/2001-01-01');
    assert.equal(missing.status, 404);
  });

  it('runs from the command line and prints the report', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'src/main.ts', 'reconcile', '--channel', 'sandbox', '--day', today],
      {
        cwd: path.resolve(__dirname, '../..'),
        env: {
          ...process.env,
          TEMPORAL_ADDRESS: runTemporalAddress(),
          TEMPORAL_TASK_QUEUE: system.config.TEMPORAL_TASK_QUEUE,
          DATA_DIR: mkdtempSync(path.join(tmpdir(), 'paycenter-cli-')),
          LOG_LEVEL: 'warn',
        },
      },
    );
    assert.match(stdout, new RegExp(`Reconciliation of sandbox ${today}`));
    assert.match(stdout, /UNKNOWN_REFUND/);
  });

  it('runs yesterday for every channel on the daily schedule', async () => {
    await ensureSchedules(system.temporal, system.config, ['sandbox']);
    const schedule = system.temporal.schedule.getHandle(scheduleIds(system.config).reconciliation);
    const described = await schedule.describe();
    assert.equal(described.spec.timezone, 'Asia/Shanghai');
    assert.deepEqual(described.spec.calendars?.[0]?.hour, [{ start: 10, end: 10, step: 1 }]);
    await schedule.trigger();
    const started = await eventually(async () => (await schedule.describe()).info.recentActions[0]);
    const result = await system.temporal.workflow
      .getHandle(started.action.workflow.workflowId)
      .result();
    assert.deepEqual(result, {
      day: dayBefore(today),
      channels: { sandbox: { status: 'COMPLETED', forOperators: 0, autoCorrected: 0 } },
    });
    await schedule.delete();
    await system.temporal.schedule.getHandle(scheduleIds(system.config).safetyNet).delete();
  });
});
