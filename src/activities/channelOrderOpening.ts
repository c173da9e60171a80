// Opening a channel order as one activity with the pay order's saves on both sides of the call:
// before it, the channel order as OPENING (a notification that overtakes the channel's answer
// finds it in the books, and a crash leaves a trace the safety net follows); after it, as the
// channel answered. One activity instead of three spares the payment workflow two tasks and
// Temporal a dozen history events per payment. Safe to retry: the saves are versioned (an older
// version never overwrites a newer one) and the out_trade_no is the channel's idempotency key.
import { openedAttempt } from '../domain/payOrder';
import type { ChannelCallActivities } from './channelCalls';
import type { PayOrderChange, PayOrderRecordActivities } from './payOrderRecords';

export interface ChannelOrderOpening {
  /** The save that adds the channel order as OPENING; the answer's save is the next version. */
  opening: PayOrderChange;
  open: Parameters<ChannelCallActivities['openChannelOrder']>[0];
}

export function createChannelOrderOpeningActivities(parts: {
  savePayOrder: PayOrderRecordActivities['savePayOrder'];
  openChannelOrder: ChannelCallActivities['openChannelOrder'];
}) {
  return {
    async openChannelOrderBetweenSaves({ opening, open }: ChannelOrderOpening) {
      await parts.savePayOrder(opening);
      const created = await parts.openChannelOrder(open);
      const attempt = opening.attempts.find((a) => a.id === open.attemptId);
      if (!attempt) throw new Error(`the opening save lacks channel order ${open.attemptId}`);
      await parts.savePayOrder({
        version: opening.version + 1,
        order: opening.order,
        attempts: [openedAttempt(attempt, created)],
        ...(opening.taskAt === undefined ? {} : { taskAt: opening.taskAt }),
      });
      return created;
    },
  };
}

export type ChannelOrderOpeningActivities = ReturnType<typeof createChannelOrderOpeningActivities>;
