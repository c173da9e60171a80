// The payment workflow on a real Temporal dev server, with channel and database activities replaced
// by an in-memory channel, so each rule of the workflow is seen on its own.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter, type ApplicationFailure } from '@temporalio/common';
import {
  attention,
  clearAttention,
  notify,
  searchAttributes,
  status,
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
  withWorker,
} from '../support/workflowHarness';

const recorded: Record<string, string> = {};

/** Two channel orders opened one after the other, and each paid: the second is a duplicate. */
async function paidTwice(handle: WorkflowHandle) {
  const first = await payWith(handle, 'page');
  const second = await payWith(handle, 'qr');
  for (const { attempt } of [first, second]) {
    await handle.signal(notify, {
      outTradeNo: attempt.outTradeNo,
      status: 'SUCCEEDED',
      amount: 500,
      source: 'notify',
    });
  }
  return { first, second };
}

/** What the Temporal UI shows as the workflow's current details. */
async function currentDetailsOf(handle: WorkflowHandle): Promise<string> {
  const metadata = await handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata');
  return metadata.currentDetails ?? '';
}

/** The summaries of the activities the workflow scheduled, as the Temporal UI shows them. */
/** The summaries of the run's activities, or of its timers: its timeline in the Temporal UI. */
async function summariesOf(
  handle: WorkflowHandle,
  of: readonly HistoryEventKind[],
): Promise<string[]> {
  const history = await handle.fetchHistory();
  return (history.events ?? []).flatMap((event) => {
    const summary = of.some((kind) => event[kind]) ? event.userMetadata?.summary : null;
    return summary ? [defaultPayloadConverter.fromPayload<string>(summary)] : [];
  });
}

type HistoryEventKind =
  | 'activityTaskScheduledEventAttributes'
  | 'markerRecordedEventAttributes'
  | 'timerStartedEventAttributes';

/** Activities' summaries, local ones' (recorded as markers) too. */
const activitySummaries = (handle: WorkflowHandle) =>
  summariesOf(handle, ['activityTaskScheduledEventAttributes', 'markerRecordedEventAttributes']);

describe('payment workflow', () => {
  it('serializes concurrent pay requests into one channel order', async () => {
    const channel = new FakeChannel();
    await withWorker(channel, async (taskQueue) => {
      const handle = await start(taskQueue, input());
      // As many as Temporal takes in flight on one workflow (10): more are refused and left to the
      // client's retries, which give up after 12 to 18 s on a loaded machine. The API lets fewer
      // through at a time (src/services/orderTurns.ts; 50 at once in test/e2e/anomalies.test.ts).
      const answers = await Promise.all(Array.from({ length: 10 }, () => payWith(handle, 'page')));
      assert.equal(channel.opened.length, 1);
      assert.equal(new Set(answers.map((a) => a.attempt.id)).size, 1);
      assert.equal((await handle.query(status)).status, 'PAYING');
    });
  });

  it('settles on a success notification and ignores its repeats and stale statuses', async () => {
    const channel = new FakeChannel();
    await withWorker(channel, async (taskQueue) => {
      const args = input();
      const handle = await start(taskQueue, args);
      const { attempt } = await payWith(handle, 'page');
      const success = {
        outTradeNo: attempt.outTradeNo,
        status: 'SUCCEEDED',
        amount: 500,
        source: 'notify',
      } as const;
      await handle.signal(notify, success);
      await handle.signal(notify, success);
      await handle.signal(notify, { ...success, status: 'PENDING' });
      await handle.signal(notify, { ...success, status: 'CLOSED' });
      const result: PayOrderView = await handle.result();
      assert.equal(result.status, 'SUCCEEDED');
      assert.equal(result.needsAttention, false);
      assert.deepEqual(
        result.attempts.map((a) => a.status),
        ['SUCCEEDED'],
      );
      assert.equal(channel.saved.at(-1)?.status, 'SUCCEEDED');
      recorded['succeeded-merchant-told'] = historyToJSON(await handle.fetchHistory());
    });
  });

  it('settles on a success found in the statement, and raises NeedsAttention when asked', async () => {
    const channel = new FakeChannel();
    await withWorker(channel, async (taskQueue) => {
      const handle = await start(taskQueue, input());
      const { attempt } = await payWith(handle, 'page');
      await handle.signal(notify, {
        outTradeNo: attempt.outTradeNo,
        status: 'SUCCEEDED',
        amount: 500,
        source: 'statement',
      });
      await handle.signal(attention, 'reconciliation: the channel reversed a payment');
      await handle.signal(attention, 'a repeat changes nothing');
      const result: PayOrderView = await handle.result();
      assert.equal(result.status, 'SUCCEEDED');
      assert.equal(result.needsAttention, true);
      assert.equal(channel.saved.at(-1)?.needsAttention, true);
      recorded['statement-success-then-attention'] = historyToJSON(await handle.fetchHistory());
    });
  });

  it('settles by querying the channel when no notification comes', async () => {
    const channel = new FakeChannel();
    await withWorker(channel, async (taskQueue) => {
      const handle = await start(
        taskQueue,
        input({
          querySchedule: { delaysSeconds: [1], attentionAfterFailures: 3, rareSeconds: 5 },
        }),
      );
      const { attempt } = await payWith(handle, 'page');
      await eventually(async () => channel.queried.length >= 1, { what: 'a first query' });
      channel.paid.add(attempt.outTradeNo);
      const result = await handle.result();
      assert.equal(result.status, 'SUCCEEDED');
      assert.ok(channel.queried.length >= 2);
      // The success the notifications missed is shown as such to operators.
      const shown = (await handle.describe()).typedSearchAttributes;
      assert.deepEqual(shown.get(searchAttributes.anomalyKinds), ['FOUND_BY_QUERY']);
      recorded['settled-by-query'] = historyToJSON(await handle.fetchHistory());
    });
  });

  it('refunds a second paid channel order as DUPLICATE_PAYMENT and waits for the refund', async () => {
    const channel = new FakeChannel();
    await withWorker(channel, async (taskQueue) => {
      const handle = await start(taskQueue, input());
      const { second } = await paidTwice(handle);
      const result: PayOrderView = await handle.result();
      assert.equal(result.status, 'SUCCEEDED');
      assert.deepEqual(
        result.refunds.map((r) => [r.amount, r.reason, r.status]),
        [[500, 'DUPLICATE_PAYMENT', 'SUCCEEDED']],
      );
      assert.deepEqual(channel.refunded, [second.attempt.outTradeNo]);
      recorded['duplicate-refunded'] = historyToJSON(await handle.fetchHistory());
    });
  });

  it('shows operators the story: activity summaries, current details, anomalies, attention', async () => {
    const channel = new FakeChannel();
    await withWorker(channel, async (taskQueue) => {
      const handle = await start(taskQueue, input({ lateWindowSeconds: 30 }));
      const { second } = await paidTwice(handle);
      await eventually(async () => (await handle.query(status)).status === 'SUCCEEDED', {
        what: 'the order paid',
      });
      await handle.signal(
        attention,
        'safety net MONEY_NOT_CONSERVED: a test',
        undefined,
        'MONEY_NOT_CONSERVED',
      );
      const shown = async () => (await handle.describe()).typedSearchAttributes;
      await eventually(
        async () => (await shown()).get(searchAttributes.attentionReason) === 'MONEY_NOT_CONSERVED',
        { what: 'AttentionReason' },
      );
      await eventually(
        async () => (await handle.query(status)).refunds[0]?.status === 'SUCCEEDED',
        { what: 'the duplicate refunded' },
      );
      const [refund] = (await handle.query(status)).refunds;
      assert.deepEqual((await shown()).get(searchAttributes.anomalyKinds), ['DUPLICATE_PAYMENT']);
      assert.equal((await shown()).get(searchAttributes.needsAttention), true);

      const details = await currentDetailsOf(handle);
      assert.match(details, /^\*\*SUCCEEDED\*\* · paid by sandbox page `T/);
      assert.match(
        details,
        /\*\*Needs attention: MONEY_NOT_CONSERVED\*\* · safety net MONEY_NOT_CONSERVED: a test/,
      );
      assert.match(details, /Anomalies made harmless: DUPLICATE_PAYMENT/);
      assert.ok(
        details.includes(`- \`${refund!.id}\` 5.00 CNY DUPLICATE_PAYMENT: SUCCEEDED`),
        details,
      );
      assert.ok(
        details.includes(`- \`${second.attempt.outTradeNo}\` sandbox qr: SUCCEEDED`),
        details,
      );

      const summaries = await activitySummaries(handle);
      assert.ok(
        summaries.includes(
          `refund DUPLICATE_PAYMENT 5.00 CNY of sandbox ${second.attempt.outTradeNo}`,
        ),
        summaries.join('\n'),
      );
      assert.ok(
        summaries.some((s) => /^save v\d+: SUCCEEDED$/.test(s)),
        summaries.join('\n'),
      );
      assert.ok(summaries.some((s) => /^save v\d+: SUCCEEDED, needs attention$/.test(s)));
      // Its waits say what comes when they end: the first query, then the late window.
      const timers = await summariesOf(handle, ['timerStartedEventAttributes']);
      assert.ok(
        timers.some((t) => /^then query sandbox T\w+ \(query 1\)$/.test(t)),
        timers.join('\n'),
      );
      assert.ok(
        timers.some((t) => /^late window: a success until \S+Z is refunded$/.test(t)),
        timers.join('\n'),
      );

      await handle.signal(clearAttention, 'looked: the books are right');
      await eventually(async () => (await shown()).get(searchAttributes.needsAttention) === false, {
        what: 'the flag cleared',
      });
      assert.equal((await shown()).get(searchAttributes.attentionReason), undefined);
      assert.doesNotMatch(await currentDetailsOf(handle), /Needs attention/);
      recorded['operator-view'] = historyToJSON(await handle.fetchHistory());
      await handle.terminate('the test has seen enough');
    });
  });

  it('answers a synchronous channel success at once: the order is paid', async () => {
    const channel = new FakeChannel();
    channel.syncOutcome = 'SUCCEEDED';
    await withWorker(channel, async (taskQueue) => {
      const handle = await start(taskQueue, input());
      const { attempt } = await payWith(handle, 'page');
      assert.equal(attempt.status, 'SUCCEEDED');
      assert.equal(attempt.payUrl, undefined);
      assert.equal((await handle.query(status)).status, 'SUCCEEDED');
    });
  });

  it('answers a declined card PAYMENT_DECLINED and lets the payer try another', async () => {
    const channel = new FakeChannel();
    channel.syncOutcome = 'CLOSED';
    await withWorker(channel, async (taskQueue) => {
      const handle = await start(taskQueue, input());
      assert.equal(await refusal(payWith(handle, 'page')), 'PAYMENT_DECLINED');
      channel.syncOutcome = 'SUCCEEDED';
      assert.equal((await payWith(handle, 'page')).attempt.status, 'SUCCEEDED');
      assert.deepEqual(
        (await handle.query(status)).attempts.map((a) => a.status),
        ['CLOSED', 'SUCCEEDED'],
      );
    });
  });

  it('waits a bounded time for an accepted payment: settled by a notification within it', async () => {
    const channel = new FakeChannel();
    channel.syncOutcome = 'PENDING';
    await withWorker(channel, async (taskQueue) => {
      const handle = await start(taskQueue, input({ syncPayWaitSeconds: 10 }));
      const answer = payWith(handle, 'page');
      await eventually(async () => channel.opened.length === 1);
      await handle.signal(notify, {
        outTradeNo: channel.opened[0]!,
        status: 'SUCCEEDED',
        amount: 500,
        source: 'notify',
      });
      assert.equal((await answer).attempt.status, 'SUCCEEDED');
      await handle.result();
      recorded['synchronous-accepted-then-notified'] = historyToJSON(await handle.fetchHistory());
    });
  });

  it('answers an accepted payment still pending after the wait as PENDING, and settles it later', async () => {
    const channel = new FakeChannel();
    channel.syncOutcome = 'PENDING';
    await withWorker(channel, async (taskQueue) => {
      const handle = await start(
        taskQueue,
        input({
          syncPayWaitSeconds: 2,
          querySchedule: { delaysSeconds: [1], attentionAfterFailures: 5, rareSeconds: 5 },
        }),
      );
      const { attempt } = await payWith(handle, 'page');
      assert.equal(attempt.status, 'PENDING');
      assert.ok(channel.queried.length >= 1, 'queried quickly while waiting');
      channel.paid.add(attempt.outTradeNo);
      assert.equal((await handle.result()).status, 'SUCCEEDED');
    });
  });

  it('never marks paid on a success for another amount: flags it for an operator', async () => {
    const channel = new FakeChannel();
    await withWorker(channel, async (taskQueue) => {
      const handle = await start(
        taskQueue,
        input({ expiresAt: new Date(Date.now() + 3000).toISOString() }),
      );
      const { attempt } = await payWith(handle, 'qr');
      await handle.signal(notify, {
        outTradeNo: attempt.outTradeNo,
        status: 'SUCCEEDED',
        amount: 1,
        source: 'notify',
      });
      const flagged = await eventually(async () => {
        const view = await handle.query(status);
        return view.needsAttention && view;
      });
      assert.equal(flagged.status, 'PAYING');
      assert.equal((await handle.result()).status, 'CLOSED');
    });
  });

  it('refuses to pay a paid order, and closes the old channel order before switching method', async () => {
    const channel = new FakeChannel();
    await withWorker(channel, async (taskQueue) => {
      const handle = await start(taskQueue, input());
      const first = await payWith(handle, 'page');
      const second = await payWith(handle, 'qr');
      assert.notEqual(second.attempt.id, first.attempt.id);
      assert.deepEqual(channel.closed, [first.attempt.outTradeNo]);
      const view = await handle.query(status);
      assert.deepEqual(
        view.attempts.map((a) => a.status),
        ['CLOSED', 'PENDING'],
      );

      // The payer already paid the qr order: closing it for a switch reveals the payment.
      channel.paid.add(second.attempt.outTradeNo);
      const code = await refusal(payWith(handle, 'page'));
      assert.equal(code, 'ALREADY_PAID');
      assert.equal((await handle.query(status)).status, 'SUCCEEDED');
      assert.equal(await refusal(payWith(handle, 'page')), 'ALREADY_PAID');
      assert.equal(channel.opened.length, 2);
      // The paid order's save, made inside its workflow task, carries every channel order, not
      // only the one that changed: a save of a task Temporal never committed may have written any.
      const paidSave = channel.saved.findIndex((s) => s.status === 'SUCCEEDED');
      assert.deepEqual(channel.savedAttempts[paidSave], [first.attempt.id, second.attempt.id]);
    });
  });

  it('closes the order and its open channel order at expiry', async () => {
    const channel = new FakeChannel();
    await withWorker(channel, async (taskQueue) => {
      const handle = await start(
        taskQueue,
        input({ expiresAt: new Date(Date.now() + 2000).toISOString() }),
      );
      const { attempt } = await payWith(handle, 'page');
      const result = await handle.result();
      assert.equal(result.status, 'CLOSED');
      assert.deepEqual(channel.closed, [attempt.outTradeNo]);
      recorded['expired-merchant-told'] = historyToJSON(await handle.fetchHistory());
    });
  });

  it('answers STATUS_UNKNOWN when the channel does not answer, and never opens a second order blindly', async () => {
    const channel = new FakeChannel();
    channel.failOpen = 'unavailable';
    await withWorker(channel, async (taskQueue) => {
      const handle = await start(taskQueue, input());
      const code = await refusal(payWith(handle, 'page'));
      assert.equal(code, 'STATUS_UNKNOWN');
      channel.failOpen = undefined;
      assert.equal(await refusal(payWith(handle, 'page')), 'STATUS_UNKNOWN');
      assert.deepEqual(
        (await handle.query(status)).attempts.map((a) => a.status),
        ['UNKNOWN'],
      );
      assert.equal(channel.opened.length, 0);
    });
  });

  it('marks a refused channel order FAILED and lets the payer try again', async () => {
    const channel = new FakeChannel();
    channel.failOpen = 'rejected';
    await withWorker(channel, async (taskQueue) => {
      const handle = await start(taskQueue, input());
      const refused = await payWith(handle, 'page').catch((err: unknown) => err);
      assert.ok(refused instanceof WorkflowUpdateFailedError, String(refused));
      const cause = refused.cause as ApplicationFailure;
      assert.equal(cause.type, 'CHANNEL_REJECTED');
      assert.deepEqual(cause.details, [{ declineCode: 'INVALID_PARAMETER' }]);
      channel.failOpen = undefined;
      const { attempt } = await payWith(handle, 'page');
      assert.equal(attempt.status, 'PENDING');
      assert.deepEqual(
        (await handle.query(status)).attempts.map((a) => a.status),
        ['FAILED', 'PENDING'],
      );
    });
  });
});

after(() => recordMissingHistories(recorded));
