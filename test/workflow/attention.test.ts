// When the payment workflow flags a pay order for an operator, and when it takes the flag back:
// a channel that stopped answering raises it and clears it once it answers again; every other
// reason stays until an operator clears it. In-memory channel, real Temporal.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { attention, status, type PayOrderView } from '../../src/workflows/contracts/payment';
import { recordMissingHistories } from '../support/history';
import { eventually } from '../support/system';
import { FakeChannel, input, payWith, start, withWorker } from '../support/workflowHarness';

const recorded: Record<string, string> = {};
after(() => recordMissingHistories(recorded));

/** Flags after two queries or closes in a row that learn nothing; a query every second. */
const impatient = { delaysSeconds: [1], attentionAfterFailures: 2, rareSeconds: 1 };
/** Never flags for silence within a test. */
const patient = { delaysSeconds: [1], attentionAfterFailures: 100, rareSeconds: 1 };

const flagged = (channel: FakeChannel) =>
  eventually(async () => channel.saved.at(-1)?.needsAttention === true, {
    what: 'the order to be flagged for an operator',
    timeoutMs: 30_000,
  });

/** A payment whose channel stops answering queries until the order is flagged. */
async function flaggedBySilence(channel: FakeChannel, taskQueue: string) {
  channel.failQuery = true;
  const handle = await start(taskQueue, input({ querySchedule: impatient }));
  const { attempt } = await payWith(handle, 'page');
  await flagged(channel);
  return { handle, outTradeNo: attempt.outTradeNo };
}

describe('payment workflow attention flag', () => {
  it('writes why with the flag, and the new reason when a flagged order is flagged again', async () => {
    const channel = new FakeChannel();
    await withWorker(channel, async (taskQueue) => {
      const handle = await start(taskQueue, input({ querySchedule: patient }));
      await payWith(handle, 'page');
      await handle.signal(
        attention,
        'reconciliation: another amount',
        undefined,
        'RECONCILIATION_DIFFERENCE',
      );
      await flagged(channel);
      assert.deepEqual(channel.savedReasons.at(-1), {
        code: 'RECONCILIATION_DIFFERENCE',
        reason: 'reconciliation: another amount',
      });
      await handle.signal(
        attention,
        'safety net MONEY_NOT_CONSERVED: a test',
        undefined,
        'MONEY_NOT_CONSERVED',
      );
      await eventually(async () => channel.savedReasons.at(-1)?.code === 'MONEY_NOT_CONSERVED', {
        what: 'the new reason saved',
      });
      assert.equal(channel.saved.at(-1)?.needsAttention, true);
      recorded['reflagged-reason-in-books'] = historyToJSON(await handle.fetchHistory());
      await handle.terminate('test over');
    });
  });

  it('clears the flag a silent channel raised once a query learns the payment', async () => {
    const channel = new FakeChannel();
    await withWorker(channel, async (taskQueue) => {
      const { handle, outTradeNo } = await flaggedBySilence(channel, taskQueue);
      channel.failQuery = false;
      channel.paid.add(outTradeNo);
      const result: PayOrderView = await handle.result();
      assert.equal(result.status, 'SUCCEEDED');
      assert.equal(result.needsAttention, false);
      assert.equal(channel.saved.at(-1)?.needsAttention, false);
      recorded['unreachable-flag-cleared-by-query'] = historyToJSON(await handle.fetchHistory());
    });
  });

  it('clears the flag a channel that could not confirm the close raised once it confirms', async () => {
    const channel = new FakeChannel();
    await withWorker(channel, async (taskQueue) => {
      const handle = await start(
        taskQueue,
        input({ expiresAt: new Date(Date.now() + 2000).toISOString(), querySchedule: impatient }),
      );
      await payWith(handle, 'page');
      channel.failClose = true;
      await flagged(channel);
      channel.failClose = new Set();
      const result: PayOrderView = await handle.result();
      assert.equal(result.status, 'CLOSED');
      assert.equal(result.needsAttention, false);
      recorded['unreachable-flag-cleared-by-close'] = historyToJSON(await handle.fetchHistory());
    });
  });

  it('clears a safety-net flag for a channel order open past expiry once the close is confirmed', async () => {
    const channel = new FakeChannel();
    await withWorker(channel, async (taskQueue) => {
      const handle = await start(
        taskQueue,
        input({ expiresAt: new Date(Date.now() + 2000).toISOString(), querySchedule: patient }),
      );
      await payWith(handle, 'page');
      channel.failClose = true;
      await eventually(async () => channel.closed.length >= 1, { what: 'the close at expiry' });
      await handle.signal(attention, 'safety net ATTEMPT_OPEN_PAST_EXPIRY', 'OPEN_PAST_EXPIRY');
      await flagged(channel);
      channel.failClose = new Set();
      const result: PayOrderView = await handle.result();
      assert.equal(result.status, 'CLOSED');
      assert.equal(result.needsAttention, false);
      recorded['open-past-expiry-flag-cleared'] = historyToJSON(await handle.fetchHistory());
    });
  });

  it('flags nothing when the safety net saw a channel order the workflow has closed since', async () => {
    const channel = new FakeChannel();
    await withWorker(channel, async (taskQueue) => {
      const handle = await start(
        taskQueue,
        input({ expiresAt: new Date(Date.now() + 1000).toISOString(), querySchedule: patient }),
      );
      await payWith(handle, 'page');
      await eventually(async () => (await handle.query(status)).status === 'CLOSED', {
        what: 'the order to close at expiry',
      });
      await handle.signal(attention, 'safety net ATTEMPT_OPEN_PAST_EXPIRY', 'OPEN_PAST_EXPIRY');
      const result: PayOrderView = await handle.result();
      assert.equal(result.needsAttention, false);
      assert.ok(channel.saved.every((saved) => !saved.needsAttention));
    });
  });

  it('keeps a flag raised for another reason, even when the channel answers again', async () => {
    const channel = new FakeChannel();
    await withWorker(channel, async (taskQueue) => {
      const { handle, outTradeNo } = await flaggedBySilence(channel, taskQueue);
      await handle.signal(attention, 'reconciliation: the statement shows another amount');
      channel.failQuery = false;
      channel.paid.add(outTradeNo);
      const result: PayOrderView = await handle.result();
      assert.equal(result.status, 'SUCCEEDED');
      assert.equal(result.needsAttention, true);
    });
  });
});
