// What the workflow tests share: the payment workflow on a real Temporal dev server, with channel
// and database activities replaced by an in-memory channel, so each rule is seen on its own.
import { updateAcrossRuns } from '../../src/services/workflowUpdates';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before } from 'node:test';
import {
  Client,
  Connection,
  WorkflowUpdateFailedError,
  type WorkflowHandle,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createChannelOrderOpeningActivities } from '../../src/activities/channelOrderOpening';
import type { PaymentActivities } from '../../src/activities/payment';
import { ChannelUnavailableError } from '../../src/channels/types';
import type { PayOrderState } from '../../src/domain/payOrder';
import { newId } from '../../src/domain/ids';
import { installTemporalRuntime } from '../../src/system';
import { workflowBundle } from '../../src/workflowBundle';
import { createLogger } from '../../src/log';
import {
  pay,
  paymentWorkflow,
  paymentWorkflowId,
  type PaymentInput,
} from '../../src/workflows/contracts/payment';
import { runTemporalAddress } from './system';

/** An in-memory channel: records every call and answers as the test tells it. */
export class FakeChannel {
  opened: string[] = [];
  closed: string[] = [];
  queried: string[] = [];
  refunded: string[] = [];
  saved: Omit<PayOrderState, 'attempts'>[] = [];
  /** The channel orders (IDs) each save carried. */
  savedAttempts: string[][] = [];
  /** The flag's reason each save carried (none while the order is not flagged). */
  savedReasons: ({ code: string; reason: string } | undefined)[] = [];
  paid = new Set<string>();
  failOpen: 'unavailable' | 'rejected' | undefined;
  /** Channel orders whose close the channel cannot confirm (every one when true). */
  failClose: Set<string> | true = new Set();
  /** The channel does not answer queries. */
  failQuery = false;
  /** Channel orders whose refund the channel accepts but does not finish. */
  stuckRefunds = new Set<string>();
  merchantEvents: string[] = [];
  /** A synchronous channel (bank card) answering the payment's outcome with the order. */
  syncOutcome: 'SUCCEEDED' | 'CLOSED' | 'PENDING' | undefined;

  activities(): Omit<
    PaymentActivities,
    'classifyStrayPayment' | 'markAttemptPaid' | 'flagPayOrder'
  > {
    const activities = this.channelActivities();
    return { ...activities, ...createChannelOrderOpeningActivities(activities) };
  }

  /** The channel's and the books' activities, of which the opening activity is made. */
  protected channelActivities(): Omit<
    PaymentActivities,
    | 'classifyStrayPayment'
    | 'markAttemptPaid'
    | 'flagPayOrder'
    | keyof ReturnType<typeof createChannelOrderOpeningActivities>
  > {
    return {
      openChannelOrder: async ({ order }) => {
        if (this.failOpen === 'unavailable') throw new ChannelUnavailableError('connection reset');
        if (this.failOpen === 'rejected') {
          // As src/activities/channelCalls.ts answers a ChannelRejectedError.
          throw ApplicationFailure.create({
            message: 'INVALID_PARAMETER: bad request',
            type: 'CHANNEL_REJECTED',
            nonRetryable: true,
            details: [{ declineCode: 'INVALID_PARAMETER' }],
          });
        }
        this.opened.push(order.outTradeNo);
        if (this.syncOutcome) {
          const status = this.syncOutcome;
          return {
            outcome: { outTradeNo: order.outTradeNo, status, amount: 500, source: 'query' },
          };
        }
        return { payUrl: `https://channel.test/pay/${order.outTradeNo}` };
      },
      closeChannelOrder: async ({ outTradeNo }) => {
        this.closed.push(outTradeNo);
        if (this.failClose === true || this.failClose.has(outTradeNo)) {
          throw new ChannelUnavailableError('the channel does not answer the close');
        }
        if (this.paid.has(outTradeNo)) {
          return {
            kind: 'alreadyPaid',
            fact: { outTradeNo, status: 'SUCCEEDED', amount: 500, source: 'close' },
          };
        }
        return { kind: 'closed' };
      },
      queryChannelOrder: async ({ outTradeNo }) => {
        this.queried.push(outTradeNo);
        if (this.failQuery)
          throw new ChannelUnavailableError('the channel does not answer the query');
        return this.paid.has(outTradeNo)
          ? { outTradeNo, status: 'SUCCEEDED', amount: 500, source: 'query' }
          : { outTradeNo, status: 'PENDING', source: 'query' };
      },
      refundChannelOrder: async ({ outTradeNo }) => {
        this.refunded.push(outTradeNo);
        return this.stuckRefunds.has(outTradeNo) ? 'PROCESSING' : 'SUCCEEDED';
      },
      queryChannelRefund: async ({ outTradeNo }) =>
        this.stuckRefunds.has(outTradeNo) ? 'PROCESSING' : 'SUCCEEDED',
      saveRefund: async () => {},
      savePayOrder: async (change) => {
        this.saved.push('state' in change ? change.state : change.order);
        const attempts = 'state' in change ? change.state.attempts : change.attempts;
        this.savedAttempts.push(attempts.map((a) => a.id));
        this.savedReasons.push('state' in change ? undefined : change.attention);
      },
    };
  }
}

let client: Client;
let connection: Connection;

before(async () => {
  connection = await Connection.connect({ address: runTemporalAddress() });
  client = new Client({ connection });
});
after(async () => {
  await connection.close();
});

export function temporalClient(): Client {
  return client;
}

/** Runs `scenario` while a worker of the workflow bundle with these activities polls its own queue. */
export async function runWorker<T>(
  activities: object,
  scenario: (taskQueue: string) => Promise<T>,
): Promise<T> {
  const taskQueue = `wf-test-${randomUUID()}`;
  installTemporalRuntime(createLogger(process.env.TEST_LOG_LEVEL ?? 'warn'));
  const nativeConnection = await NativeConnection.connect({ address: runTemporalAddress() });
  const worker = await Worker.create({
    connection: nativeConnection,
    taskQueue,
    workflowBundle: await workflowBundle(),
    activities,
  });
  try {
    return await worker.runUntil(scenario(taskQueue));
  } finally {
    await nativeConnection.close();
  }
}

export function withWorker<T>(channel: FakeChannel, scenario: (taskQueue: string) => Promise<T>) {
  return runWorker(
    {
      ...channel.activities(),
      // Orders here have no notify URL: the merchant-notification workflow ends at once.
      recordMerchantEvent: async (event: { type: string }) => {
        channel.merchantEvents.push(event.type);
        return false;
      },
      deliverMerchantEvent: async () => true,
      recordAndDeliverMerchantEvent: async (event: { type: string }) => {
        channel.merchantEvents.push(event.type);
        return 'NO_NOTIFY_URL' as const;
      },
      giveUpMerchantEvent: async () => {},
    },
    scenario,
  );
}

export function input(overrides: Partial<PaymentInput> = {}): PaymentInput {
  return {
    payOrderId: newId('po', Date.now(), Math.random),
    merchantId: 'mch_test',
    merchantOrderNo: `wf-${randomUUID()}`,
    amount: 500,
    currency: 'CNY',
    subject: 'Green tea',
    expiresAt: new Date(Date.now() + 60_000).toISOString(),
    webhookBaseUrl: 'http://127.0.0.1:3000/webhooks',
    lateWindowSeconds: 1,
    ...overrides,
  };
}

export async function start(taskQueue: string, args: PaymentInput) {
  return client.workflow.start(paymentWorkflow.type, {
    taskQueue,
    workflowId: paymentWorkflowId(args.payOrderId),
    args: [args],
  });
}

/** A pay request as the API sends it (src/services/payOrders.ts): again if no run took it. */
export function payWith(handle: WorkflowHandle, method: 'page' | 'qr') {
  return updateAcrossRuns(handle, (h) =>
    h.executeUpdate(pay, { args: [{ channel: 'sandbox', method }] }),
  );
}

export async function refusal(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (err) {
    assert.ok(err instanceof WorkflowUpdateFailedError, String(err));
    return (err.cause as ApplicationFailure).type ?? undefined;
  }
}
