// The channel notification inbox: a verified notification is stored before it is acknowledged
// (those arriving together share a statement and its commit, `groupCommit`), and handed to its pay
// order's workflow after the answer from a bounded queue, so the channel's wait never includes
// Temporal's nor the worker's. One the books show changes nothing is acknowledged without a
// hand-over; repeats of one waiting or under way share its signal; one the queue had no room for,
// or whose hand-over failed, is handed over by the sweep of one API process (it takes each in the
// books first).
import type { Logger } from 'pino';
import type { ChannelAdapter, IncomingNotification, VerifiedNotification } from '../channels/types';
import type { ChannelFact } from '../domain/payOrder';
import {
  markHandedOver,
  releaseSweepHolds,
  storeNotifications,
  takeForSweep,
  type InboxCursor,
  type InboxEntry,
  type IncomingRow,
  type StoredNotification,
} from '../db/books/notificationInbox';
import { newId } from '../domain/ids';
import type { Db } from '../db/client';
import type { Corrections, NewsHandling } from './corrections';
import { createGroupCommit } from './groupCommit';
import { createHandOverQueue } from './handOverQueue';

export type InboxVerdict = 'accepted' | 'retry';

/** Kept from every channel's notification, besides the headers its adapter names. */
const commonHeaders = ['content-type', 'user-agent', 'x-request-id'];

export interface InboxLimits {
  /** Statements storing notifications under way at once; more arrivals wait and go together. */
  storeConcurrency: number;
  /** Notifications stored by one statement at most. */
  storeBatch: number;
  /** Notifications held in memory for hand-over at most; the rest wait in the books. */
  queueLimit: number;
  /** Signals under way at once. */
  concurrency: number;
  /** Hand-overs marked in the books by one statement at most (and the sweep's page). */
  batch: number;
  /** How long a stored notification may wait before the sweep hands it over. */
  sweepGraceMs: number;
  /**
   * How long a sweep holds the notifications it took while it hands them over: other processes'
   * sweeps pass them by (a process that stops before it lets go holds them this long).
   */
  sweepHoldMs: number;
}

export function createNotificationInbox(deps: {
  db: Db;
  log: Logger;
  corrections: Corrections;
  limits: InboxLimits;
}) {
  const { db, log, corrections, limits } = deps;
  const store = createGroupCommit<IncomingRow, StoredNotification>({
    concurrency: limits.storeConcurrency,
    batch: limits.storeBatch,
    write: (rows) => storeNotifications(db, rows),
  });
  const queue = createHandOverQueue<InboxEntry, NewsHandling>({
    limit: limits.queueLimit,
    concurrency: limits.concurrency,
    batch: limits.batch,
    key: (entry) => entry.id,
    // A channel's repeats of one notification: one signal tells the workflow for all of them.
    sameAs: ({ channel, fact }) => JSON.stringify([channel, everyFieldOf(fact)]),
    // The workflow's own, or after it ended a success goes to a stray-payment refund.
    handOver: (entry) =>
      corrections.reportChannelFact({ ...entry, outTradeNo: entry.fact.outTradeNo }),
    async record(done) {
      const ids = (afterCompletion: boolean) =>
        done
          .filter(({ outcome }) => (outcome !== 'SIGNALLED') === afterCompletion)
          .map(({ item }) => item.id);
      await markHandedOver(db, ids(false), 'DELIVERED');
      await markHandedOver(db, ids(true), 'AFTER_COMPLETION');
      log.debug({ handedOver: done.length }, 'channel notifications handed over');
    },
    failed(entries, err) {
      log.error(
        { err, notifications: entries.map((e) => `${e.channel}:${e.fact.outTradeNo}`) },
        'could not hand notifications to their workflows; the inbox sweep tries again',
      );
    },
  });
  let sweeping = false;
  let stopped = false;

  return {
    async receive(
      from: Pick<ChannelAdapter, 'name' | 'notificationHeaders'>,
      incoming: IncomingNotification,
      verified: VerifiedNotification,
    ): Promise<InboxVerdict> {
      const channel = from.name;
      const { fact, dedupeKey } = verified;
      const kept = new Set([...commonHeaders, ...from.notificationHeaders]);
      const headers = Object.fromEntries(
        Object.entries(incoming.headers).filter(([name]) => kept.has(name.toLowerCase())),
      );
      const stored = await store.write({
        id: newId('ntf', Date.now(), Math.random),
        channel,
        dedupeKey,
        headers,
        rawBody: incoming.rawBody,
        fact,
      });
      if (!stored.attemptId || !stored.payOrderId) {
        // Not ours (yet): kept for reconciliation, and the channel tries again later.
        log.warn(
          { channel, outTradeNo: fact.outTradeNo },
          'notification for an unknown channel order',
        );
        return 'retry';
      }
      // Stored: the channel may stop retrying. Only what may change the order is handed over; a
      // full queue leaves it RECEIVED in the books, where the sweep finds it.
      if (stored.status === 'RECEIVED') {
        const { id, payOrderId, attemptId } = stored;
        queue.offer({ id, channel, payOrderId, attemptId, fact });
      }
      return 'accepted';
    },

    /**
     * Hands over what is stored but not handed over and older than the grace (the queue was full,
     * the process stopped, Temporal was down), a page at a time through the same queue. Each page
     * is taken in the books first and held while it is handed over, so the sweeps of several API
     * processes do not hand the same one over twice; once the page's hand-overs are over, what
     * they left not handed over (a failure, a stop) is let go, for the next sweep of any process.
     * Answers how many it handed over (tried); one sweep at a time.
     */
    async handOverPending(): Promise<number> {
      if (sweeping || stopped) return 0;
      sweeping = true;
      try {
        const before = new Date(Date.now() - limits.sweepGraceMs);
        let after: InboxCursor | undefined;
        let count = 0;
        for (;;) {
          const page = await takeForSweep(db, {
            before,
            after,
            limit: limits.batch,
            holdMs: limits.sweepHoldMs,
          });
          // Those this process's queue holds already are handed over by it, under the hold.
          const offered = page.entries.filter((entry) => !queue.holds(entry));
          try {
            count += await queue.sweep(offered);
          } finally {
            const ids = offered.map((entry) => entry.id);
            await releaseSweepHolds(db, { ids, heldUntil: page.heldUntil }).catch((err: unknown) =>
              log.warn({ err }, 'inbox sweep could not let go of its page; its hold lapses'),
            );
          }
          if (stopped || !page.cursor || page.entries.length < limits.batch) return count;
          after = page.cursor;
        }
      } finally {
        sweeping = false;
      }
    },

    /** Notifications held in memory for hand-over now. */
    get queued(): number {
      return queue.size;
    },

    /** Waits for the hand-overs under way; what still waits stays RECEIVED for the sweep. */
    async drain(): Promise<void> {
      stopped = true;
      await queue.stop();
    },
  };
}

export type NotificationInbox = ReturnType<typeof createNotificationInbox>;

/**
 * Every field of a fact, in a fixed order (absent ones null), so that two facts are the same
 * exactly when their JSON is; a field added to ChannelFact must be added here.
 */
function everyFieldOf(fact: ChannelFact): { [K in keyof Required<ChannelFact>]: unknown } {
  return {
    outTradeNo: fact.outTradeNo,
    status: fact.status,
    amount: fact.amount ?? null,
    channelTradeNo: fact.channelTradeNo ?? null,
    declineCode: fact.declineCode ?? null,
    source: fact.source,
  };
}
