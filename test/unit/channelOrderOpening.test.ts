// Opening a channel order between the pay order's two saves, in one activity.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createChannelOrderOpeningActivities } from '../../src/activities/channelOrderOpening';
import type { PayOrderChange } from '../../src/activities/payOrderRecords';
import type { Attempt } from '../../src/domain/payOrder';

const opening: PayOrderChange = {
  version: 3,
  order: {
    id: 'po_1',
    amount: 1234,
    currency: 'CNY',
    status: 'PAYING',
    needsAttention: false,
    expiresAtMs: 0,
  },
  attempts: [
    {
      id: 'att_1',
      outTradeNo: 'T1',
      channel: 'sandbox',
      method: 'page',
      amount: 1234,
      status: 'OPENING',
    },
  ],
};
const open = {
  payOrderId: 'po_1',
  attemptId: 'att_1',
  channel: 'sandbox',
  order: {
    outTradeNo: 'T1',
    amount: 1234,
    currency: 'CNY' as const,
    subject: 'order-1',
    method: 'page',
    expiresAt: new Date(0).toISOString(),
    notifyUrl: 'http://127.0.0.1/webhooks/sandbox',
  },
};

function books(answer: () => Promise<{ payUrl?: string; channelTradeNo?: string }>) {
  const saves: { version: number; statuses: Attempt['status'][]; payUrl?: string }[] = [];
  const calls: string[] = [];
  const activities = createChannelOrderOpeningActivities({
    savePayOrder: async (change) => {
      if ('state' in change) throw new Error('a whole state is not expected');
      calls.push(`save v${change.version}`);
      saves.push({
        version: change.version,
        statuses: change.attempts.map((a) => a.status),
        payUrl: change.attempts[0]?.payUrl,
      });
    },
    openChannelOrder: async () => {
      calls.push('channel');
      return answer();
    },
  });
  return { activities, saves, calls };
}

describe('opening a channel order between two saves', () => {
  it('saves it OPENING before the call and as the channel answered after, at the next version', async () => {
    const { activities, saves, calls } = books(async () => ({ payUrl: 'https://pay/T1' }));
    const created = await activities.openChannelOrderBetweenSaves({ opening, open });
    assert.deepEqual(created, { payUrl: 'https://pay/T1' });
    assert.deepEqual(calls, ['save v3', 'channel', 'save v4']);
    assert.deepEqual(saves, [
      { version: 3, statuses: ['OPENING'], payUrl: undefined },
      { version: 4, statuses: ['PENDING'], payUrl: 'https://pay/T1' },
    ]);
  });

  it('leaves the OPENING save alone and throws when the channel does not answer', async () => {
    const { activities, calls } = books(async () => {
      throw new Error('connection reset');
    });
    await assert.rejects(
      activities.openChannelOrderBetweenSaves({ opening, open }),
      /connection reset/,
    );
    // The workflow then saves the channel order UNKNOWN (or FAILED) at the next version.
    assert.deepEqual(calls, ['save v3', 'channel']);
  });
});
