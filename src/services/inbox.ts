// The channel notification inbox: a verified notification is stored before it is acknowledged,
// and handed to its pay order's workflow right after the answer, so the channel's wait never
// includes Temporal's. One whose hand-over failed is handed over again from the inbox.
import { and, eq, isNotNull, lt, sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { ChannelAdapter, IncomingNotification, VerifiedNotification } from '../channels/types';
import { channelAttempts, channelNotifications } from '../db/schema';
import { newId } from '../domain/ids';
import { learnsNothing, type AttemptStatus, type ChannelFact } from '../domain/payOrder';
import type { Db } from '../db/client';
import type { Corrections } from './corrections';

export type InboxVerdict = 'accepted' | 'retry';

/** Kept from every channel's notification, besides the headers its adapter names. */
const commonHeaders = ['content-type', 'user-agent', 'x-request-id'];

/** A stored notification of one of our channel orders, to hand to its workflow. */
interface Stored {
  channel: string;
  dedupeKey: string;
  payOrderId: string;
  attemptId: string;
  fact: ChannelFact;
}

/** How long a hand-over may be under way before the inbox tries it again. */
const handOverGraceMs = 10_000;

export function createNotificationInbox(deps: { db: Db; log: Logger; corrections: Corrections }) {
  const { db, log, corrections } = deps;
  /** Hand-overs running after their answer; stopping waits for them. */
  const inFlight = new Set<Promise<void>>();

  async function mark(stored: Stored, status: 'DELIVERED' | 'AFTER_COMPLETION') {
    await db
      .update(channelNotifications)
      .set({
        status,
        deliveries: sql`${channelNotifications.deliveries} + 1`,
        processedAt: sql`now()`,
      })
      .where(
        and(
          eq(channelNotifications.channel, stored.channel),
          eq(channelNotifications.dedupeKey, stored.dedupeKey),
        ),
      );
  }

  /** Hands the notification to its workflow (or, after that ended, a success to a refund). */
  async function handOver(stored: Stored) {
    const { fact } = stored;
    const handled = await corrections.reportChannelFact({ ...stored, outTradeNo: fact.outTradeNo });
    if (handled !== 'SIGNALLED') {
      await mark(stored, 'AFTER_COMPLETION');
      return;
    }
    await mark(stored, 'DELIVERED');
    log.info(
      { channel: stored.channel, outTradeNo: fact.outTradeNo, payOrderId: stored.payOrderId },
      'channel notification delivered',
    );
  }

  function handOverLater(stored: Stored) {
    const running = handOver(stored)
      .catch((err) =>
        log.error(
          { channel: stored.channel, outTradeNo: stored.fact.outTradeNo, err },
          'could not hand the notification to its workflow; the inbox tries again',
        ),
      )
      .finally(() => inFlight.delete(running));
    inFlight.add(running);
  }

  return {
    async receive(
      from: Pick<ChannelAdapter, 'name' | 'notificationHeaders'>,
      incoming: IncomingNotification,
      verified: VerifiedNotification,
    ): Promise<InboxVerdict> {
      const channel = from.name;
      const { fact, dedupeKey } = verified;
      const [attempt] = await db
        .select({
          payOrderId: channelAttempts.payOrderId,
          attemptId: channelAttempts.id,
          status: sql<AttemptStatus>`${channelAttempts.status}`,
        })
        .from(channelAttempts)
        .where(
          and(
            eq(channelAttempts.channel, channel),
            eq(channelAttempts.outTradeNo, fact.outTradeNo),
          ),
        );
      const kept = new Set([...commonHeaders, ...from.notificationHeaders]);
      const headers = Object.fromEntries(
        Object.entries(incoming.headers).filter(([name]) => kept.has(name.toLowerCase())),
      );
      // A paid channel order learns nothing more (the channel's retries of its success).
      const status = !attempt ? 'UNMATCHED' : learnsNothing(attempt) ? 'ALREADY_PAID' : 'RECEIVED';
      // A repeat finds its row; one that was unmatched and is ours now is received after all.
      const [row] = await db
        .insert(channelNotifications)
        .values({
          id: newId('ntf', Date.now(), Math.random),
          channel,
          dedupeKey,
          outTradeNo: fact.outTradeNo,
          payOrderId: attempt?.payOrderId ?? null,
          headers,
          rawBody: incoming.rawBody,
          fact,
          status,
        })
        .onConflictDoUpdate({
          target: [channelNotifications.channel, channelNotifications.dedupeKey],
          set: {
            status: sql`case when ${channelNotifications.status} = 'UNMATCHED'
              then excluded.status else ${channelNotifications.status} end`,
            payOrderId: sql`coalesce(${channelNotifications.payOrderId}, excluded.pay_order_id)`,
            fact: sql`coalesce(${channelNotifications.fact}, excluded.fact)`,
          },
        })
        .returning({ status: channelNotifications.status });
      if (!attempt) {
        // Not ours (yet): kept for reconciliation, and the channel tries again later.
        log.warn(
          { channel, outTradeNo: fact.outTradeNo },
          'notification for an unknown channel order',
        );
        return 'retry';
      }
      // Stored: the channel may stop retrying. A repeat of one handed over already is done.
      if (row?.status === 'RECEIVED') {
        const { payOrderId, attemptId } = attempt;
        handOverLater({ channel, dedupeKey, payOrderId, attemptId, fact });
      }
      return 'accepted';
    },

    /** Hands over again what is stored but not handed over (the process stopped, Temporal was down). */
    async handOverPending(limit = 200): Promise<number> {
      const pending = await db
        .select({
          channel: channelNotifications.channel,
          dedupeKey: channelNotifications.dedupeKey,
          fact: channelNotifications.fact,
          payOrderId: channelAttempts.payOrderId,
          attemptId: channelAttempts.id,
        })
        .from(channelNotifications)
        .innerJoin(
          channelAttempts,
          and(
            eq(channelAttempts.channel, channelNotifications.channel),
            eq(channelAttempts.outTradeNo, channelNotifications.outTradeNo),
          ),
        )
        .where(
          and(
            eq(channelNotifications.status, 'RECEIVED'),
            isNotNull(channelNotifications.fact),
            lt(channelNotifications.receivedAt, new Date(Date.now() - handOverGraceMs)),
          ),
        )
        .orderBy(channelNotifications.receivedAt)
        .limit(limit);
      for (const stored of pending) {
        await handOver({ ...stored, fact: stored.fact as ChannelFact }).catch((err) =>
          log.error(
            { err, outTradeNo: (stored.fact as ChannelFact).outTradeNo },
            'hand-over failed again',
          ),
        );
      }
      return pending.length;
    },

    /** Waits for the hand-overs under way. */
    async drain(): Promise<void> {
      await Promise.all([...inFlight]);
    },
  };
}

export type NotificationInbox = ReturnType<typeof createNotificationInbox>;
