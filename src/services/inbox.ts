// The channel notification inbox: a verified notification is stored before it is acknowledged,
// then handed to its pay order's workflow. Repeats are stored once and handed over again (harmless).
import { WorkflowNotFoundError } from '@temporalio/client';
import { and, eq, sql } from 'drizzle-orm';
import type { IncomingNotification, VerifiedNotification } from '../channels/types';
import { channelAttempts, channelNotifications } from '../db/schema';
import { newId } from '../domain/ids';
import type { RefundWorkflowDeps } from './refunds';
import { createCorrections } from './corrections';
import { notify } from '../workflows/definitions';

export type InboxVerdict = 'accepted' | 'retry';

const keptHeaders = /^(content-type|user-agent|x-sandbox-|wechatpay-|x-request-id)/i;

export function createNotificationInbox(deps: RefundWorkflowDeps) {
  const { db, log } = deps;
  const corrections = createCorrections(deps);

  async function mark(channel: string, dedupeKey: string, status: string, payOrderId?: string) {
    await db
      .update(channelNotifications)
      .set({
        status,
        payOrderId: payOrderId ?? null,
        deliveries: sql`${channelNotifications.deliveries} + 1`,
        processedAt: sql`now()`,
      })
      .where(
        and(
          eq(channelNotifications.channel, channel),
          eq(channelNotifications.dedupeKey, dedupeKey),
        ),
      );
  }

  return {
    async receive(
      channel: string,
      incoming: IncomingNotification,
      verified: VerifiedNotification,
    ): Promise<InboxVerdict> {
      const { fact, dedupeKey } = verified;
      const headers = Object.fromEntries(
        Object.entries(incoming.headers).filter(([name]) => keptHeaders.test(name)),
      );
      await db
        .insert(channelNotifications)
        .values({
          id: newId('ntf', Date.now(), Math.random),
          channel,
          dedupeKey,
          outTradeNo: fact.outTradeNo,
          headers,
          rawBody: incoming.rawBody,
        })
        .onConflictDoNothing();

      const [attempt] = await db
        .select({ payOrderId: channelAttempts.payOrderId, attemptId: channelAttempts.id })
        .from(channelAttempts)
        .where(
          and(
            eq(channelAttempts.channel, channel),
            eq(channelAttempts.outTradeNo, fact.outTradeNo),
          ),
        );
      const context = { channel, outTradeNo: fact.outTradeNo, payOrderId: attempt?.payOrderId };
      if (!attempt) {
        // Not ours (yet): keep it for reconciliation and let the channel try again later.
        log.warn(context, 'notification for an unknown channel order');
        await mark(channel, dedupeKey, 'UNMATCHED');
        return 'retry';
      }
      try {
        await deps.temporal.workflow.getHandle(attempt.payOrderId).signal(notify, fact);
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) {
          // The workflow finished its late window. Only a success still matters: money to return.
          if (fact.status === 'SUCCEEDED') {
            log.warn(context, 'success after the pay order workflow completed; refunding');
            await corrections.startStrayPayment({
              payOrderId: attempt.payOrderId,
              attemptId: attempt.attemptId,
              channel,
              outTradeNo: fact.outTradeNo,
              querySchedule: deps.querySchedule,
              merchantNotifyRetrySeconds: deps.merchantNotifyRetrySeconds,
            });
          }
          await mark(channel, dedupeKey, 'AFTER_COMPLETION', attempt.payOrderId);
          return 'accepted';
        }
        log.error({ ...context, err }, 'could not signal the payment workflow; channel will retry');
        return 'retry';
      }
      await mark(channel, dedupeKey, 'DELIVERED', attempt.payOrderId);
      log.info({ ...context, status: fact.status }, 'channel notification delivered');
      return 'accepted';
    },
  };
}

export type NotificationInbox = ReturnType<typeof createNotificationInbox>;
