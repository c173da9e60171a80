// Money-safety rules of the payment workflow (issue 11): no acknowledged payment is dropped, no
// handler waits behind a channel outage, history stays bounded. In-memory channel, real Temporal.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { ChannelFact } from '../../src/domain/payOrder';
import {
  attention,
  notify,
  pay,
  status,
  sync,
  type PayOrderView,
} from '../../src/workflows/contracts/payment';
import { recordMissingHistories } from '../support/history';
import { eventually } from '../support/system';
import {
  FakeChannel,
  input,
  payWith,
  refusal,
  start,
  temporalClient,
  withWorker,
} from '../support/workflowHarness';

const recorded: Record<string, string> = {};
after(() => recordMissingHistories(recorded));

const fast = { delaysSeconds: [1], attentionAfterFailures: 100, rareSeconds: 1 };

function success(outTradeNo: string, amount = 500): ChannelFact {
  return { outTradeNo, status: 'SUCCEEDED', amount, source: 'notify' };
}

/** Fails with `what` if the promise has not settled within `seconds` (a handler held up). */
function within<T>(promise: Promise<T>, seconds: number, what: string): Promise<T> {
  return Promise.race([
    promise,
    sleep(seconds * 1000).then(() => {
      throw new Error(`${what} did not answer within ${seconds}s`);
    }),
  ]);
}

describe('payment workflow money safety', () => {
  it('defect 1: a success arriving after the late window while a refund is under way is refunded too', async () => {
    const channel = new FakeChannel();
    await withWorker(channel, async (taskQueue) => {
      const handle = await start(taskQueue, input({ lateWindowSeconds: 1, querySchedule: fast }));
      const first = await payWith(handle, 'page');
      const second = await payWith(handle, 'qr');
      const third = await payWith(handle, 'page');
      channel.stuckRefunds.add(second.attempt.outTradeNo);
      await handle.signal(notify, success(third.attempt.outTradeNo));
      await handle.signal(notify, success(second.attempt.outTradeNo));
      await eventually(async () => channel.refunded.includes(second.attempt.outTradeNo), {
        what: 'the duplicate refund to start',
      });
      // The late window (1 s after settling) passes while that refund is still at the channel.
      await sleep(3000);
      await handle.signal(notify, success(first.attempt.outTradeNo));
      await eventually(async () => channel.refunded.includes(first.attempt.outTradeNo), {
        what: 'the refund of the success that came after the late window',
      });
      channel.stuckRefunds.clear();
      const result: PayOrderView = await handle.result();
      assert.equal(result.status, 'SUCCEEDED');
      assert.deepEqual(
        result.attempts.map((a) => a.status),
        ['SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED'],
      );
      assert.deepEqual(
        result.refunds.map((r) => [r.amount, r.reason, r.status]),
        [
          [500, 'DUPLICATE_PAYMENT', 'SUCCEEDED'],
          [500, 'DUPLICATE_PAYMENT', 'SUCCEEDED'],
        ],
      );
      recorded['late-success-while-refunding'] = historyToJSON(await handle.fetchHistory());
    });
  });

  it('defect 4: while the channel cannot confirm the close at expiry, sync and attention are answered at once', async () => {
    const channel = new FakeChannel();
    await withWorker(channel, async (taskQueue) => {
      const handle = await start(
        taskQueue,
        input({
          expiresAt: new Date(Date.now() + 2000).toISOString(),
          querySchedule: { delaysSeconds: [60], attentionAfterFailures: 100, rareSeconds: 60 },
        }),
      );
      await payWith(handle, 'page');
      channel.failClose = true;
      await eventually(async () => channel.closed.length >= 1, { what: 'the close at expiry' });
      const view = await within(handle.executeUpdate(sync), 30, 'sync during the close outage');
      assert.equal(view.status, 'PAYING');
      await handle.signal(attention, 'an operator should look');
      await eventually(async () => channel.saved.at(-1)?.needsAttention, {
        what: 'the attention flag during the close outage',
        timeoutMs: 30_000,
      });
      channel.failClose = new Set();
      const result: PayOrderView = await handle.result();
      assert.equal(result.status, 'CLOSED');
      assert.deepEqual(channel.merchantEvents, ['pay_order.closed']);
      recorded['close-outage-at-expiry'] = historyToJSON(await handle.fetchHistory());
    });
  });

  it('defect 4: a paid order is announced at once, not after the close of another channel order', async () => {
    const channel = new FakeChannel();
    await withWorker(channel, async (taskQueue) => {
      const handle = await start(taskQueue, input({ querySchedule: fast }));
      const first = await payWith(handle, 'page');
      const second = await payWith(handle, 'qr');
      channel.failClose = new Set([second.attempt.outTradeNo]);
      // The payer had paid the first channel order before it was closed.
      await handle.signal(notify, success(first.attempt.outTradeNo));
      await eventually(async () => channel.merchantEvents.includes('pay_order.succeeded'), {
        what: 'pay_order.succeeded while the other channel order cannot be closed',
        timeoutMs: 30_000,
      });
      assert.equal((await handle.query(status)).status, 'SUCCEEDED');
      channel.failClose = new Set();
      const result: PayOrderView = await handle.result();
      assert.deepEqual(
        result.attempts.map((a) => a.status),
        ['SUCCEEDED', 'CLOSED'],
      );
    });
  });

  it('defect 8: a success of another amount is final for its channel order and refunded', async () => {
    const channel = new FakeChannel();
    await withWorker(channel, async (taskQueue) => {
      const handle = await start(taskQueue, input({ querySchedule: fast }));
      const first = await payWith(handle, 'qr');
      await handle.signal(notify, success(first.attempt.outTradeNo, 1));
      const refunded = await eventually(
        async () => {
          const view = await handle.query(status);
          return view.refunds[0]?.status === 'SUCCEEDED' && view;
        },
        { what: 'the refund of the other amount' },
      );
      assert.deepEqual(
        refunded.attempts.map((a) => a.status),
        ['AMOUNT_MISMATCH'],
      );
      assert.equal(refunded.status, 'PAYING');
      assert.equal(refunded.needsAttention, true);
      assert.deepEqual(
        refunded.refunds.map((r) => [r.amount, r.reason]),
        [[1, 'AMOUNT_MISMATCH']],
      );
      // Never open again: another method opens a new channel order without closing it first.
      const second = await payWith(handle, 'page');
      assert.notEqual(second.attempt.id, first.attempt.id);
      assert.deepEqual(channel.closed, []);
      await handle.signal(notify, success(second.attempt.outTradeNo));
      const result: PayOrderView = await handle.result();
      assert.equal(result.status, 'SUCCEEDED');
      assert.deepEqual(
        result.attempts.map((a) => a.status),
        ['AMOUNT_MISMATCH', 'SUCCEEDED'],
      );
      assert.deepEqual(channel.refunded, [first.attempt.outTradeNo]);
      recorded['amount-mismatch-refunded'] = historyToJSON(await handle.fetchHistory());
    });
  });

  it('defect 2: refuses what cannot change anything, and caps channel orders per pay order', async () => {
    const channel = new FakeChannel();
    await withWorker(channel, async (taskQueue) => {
      const handle = await start(taskQueue, input({ maxChannelOrders: 3 }));
      assert.equal(await refusal(handle.executeUpdate(sync)), 'NOTHING_TO_SYNC');
      await payWith(handle, 'page');
      await payWith(handle, 'qr');
      const third = await payWith(handle, 'page');
      const before = (await handle.fetchHistory()).events?.length ?? 0;
      for (let i = 0; i < 20; i++) {
        assert.equal(await refusal(payWith(handle, 'qr')), 'TOO_MANY_CHANNEL_ORDERS');
      }
      assert.equal(
        (await handle.fetchHistory()).events?.length,
        before,
        'refusals left no history',
      );
      assert.equal((await payWith(handle, 'page')).attempt.id, third.attempt.id);
      assert.equal(channel.opened.length, 3);
    });
  });

  it('defect 2: a long history continues as new, carrying the order, which still settles and refunds', async () => {
    const channel = new FakeChannel();
    await withWorker(channel, async (taskQueue) => {
      const args = input({ continueAsNewAfterEvents: 100, querySchedule: fast });
      const started = await start(taskQueue, args);
      const handle = temporalClient().workflow.getHandle(args.payOrderId);
      const attempts: string[] = [];
      for (let i = 0; i < 30; i++) {
        const method = i % 2 === 0 ? 'page' : 'qr';
        const answer = await handle.executeUpdate(pay, { args: [{ channel: 'sandbox', method }] });
        attempts.push(answer.attempt.outTradeNo);
      }
      const { runId } = await handle.describe();
      assert.notEqual(runId, started.firstExecutionRunId, 'the run continued as new');
      const view = await handle.query(status);
      assert.equal(view.attempts.length, 30);
      assert.equal(view.attempts.filter((a) => a.status === 'PENDING').length, 1);
      await handle.signal(notify, success(attempts[29]!));
      await handle.signal(notify, success(attempts[3]!));
      const result: PayOrderView = await handle.result();
      assert.equal(result.status, 'SUCCEEDED');
      assert.deepEqual(
        result.refunds.map((r) => [r.reason, r.status]),
        [['DUPLICATE_PAYMENT', 'SUCCEEDED']],
      );
      assert.deepEqual(channel.refunded, [attempts[3]]);
      recorded['continued-as-new'] = historyToJSON(
        await temporalClient()
          .workflow.getHandle(args.payOrderId, started.firstExecutionRunId)
          .fetchHistory(),
      );
    });
  });
});
