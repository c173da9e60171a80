// Webhook acknowledgement and ingest: signed sandbox notifications at a fixed rate to
// /webhooks/sandbox (beside the same load on an empty Fastify route), and afterwards whether every
// stored notification was handed over (none lost).
import { randomBytes } from 'node:crypto';
import { and, eq, inArray, like, ne, sql } from 'drizzle-orm';
import { signedHeaders } from '../src/channels/sandbox/protocol';
import type { Db } from '../src/db/client';
import { channelNotifications, payOrders } from '../src/db/schema';
import { payOnce, type Journey, type PaymentDriver } from './e2e';
import { request } from './http';
import { closedLoop, latency, openLoop, sleep, wallNow, type Latency } from './stats';

export interface OpenTrade {
  payOrderId: string;
  outTradeNo: string;
}

export interface SandboxKeys {
  appId: string;
  secret: string;
}

export interface AckResult {
  target: string;
  perSecond: number;
  sent: number;
  failed: number;
  /** From the moment each notification was due (open loop), so driver stalls count too. */
  ackMs: Latency;
  /** How late the driver sent them: if this is high, the driver, not the server, was slow. */
  sendLagMs: Latency;
}

/** The sandbox's notification of a channel order (amount as every bench order: 1234). */
export function sandboxNotification(
  notifyId: string,
  trade: OpenTrade,
  status: 'TRADE_SUCCESS' | 'WAIT_BUYER_PAY',
): string {
  return JSON.stringify({
    notify_id: notifyId,
    out_trade_no: trade.outTradeNo,
    trade_no: status === 'TRADE_SUCCESS' ? `bench${trade.outTradeNo}` : '',
    trade_status: status,
    total_amount: 1234,
    currency: 'CNY',
  });
}

/**
 * Posts `bodyFor(i)` at `perSecond` for `seconds` (open loop) and times each answer from its due
 * time. The bench speaks as the channel: it signs with the sandbox's key, so a TRADE_SUCCESS for
 * an order the payer never paid at the sandbox is, to paycenter, a payment like any other.
 */
export async function measureAcks(
  target: { name: string; url: string },
  sandbox: SandboxKeys,
  load: { perSecond: number; seconds: number },
  bodyFor: (i: number) => string,
): Promise<AckResult> {
  const acks: number[] = [];
  const lags: number[] = [];
  let failed = 0;
  const count = Math.round(load.perSecond * load.seconds);
  await openLoop(count, load.perSecond, async (i, due) => {
    const body = bodyFor(i);
    const sent = wallNow();
    lags.push(sent - (performance.timeOrigin + due));
    try {
      const reply = await request('POST', `${target.url}/webhooks/sandbox`, body, {
        ...signedHeaders(sandbox.appId, sandbox.secret, body, Date.now()),
      });
      if (reply.status !== 200 || reply.body !== 'success') failed += 1;
      else acks.push(wallNow() - (performance.timeOrigin + due));
    } catch {
      failed += 1;
    }
  });
  return {
    target: target.name,
    perSecond: load.perSecond,
    sent: count,
    failed,
    ackMs: latency(acks),
    sendLagMs: latency(lags),
  };
}

/**
 * Opens `count` pay orders at the sandbox that the payer does not pay (open channel orders); one
 * that fails is left out (and logged).
 */
export async function openOrders(
  driver: PaymentDriver,
  count: number,
  options: { concurrency: number; log: (line: string) => void },
): Promise<OpenTrade[]> {
  const open: Journey[] = [];
  const errors: string[] = [];
  await closedLoop(count, options.concurrency, async () => {
    try {
      open.push(await payOnce(driver, { expiresInSeconds: 3600, payerPays: false }));
    } catch (err) {
      errors.push(String((err as Error).message ?? err));
    }
  });
  if (errors.length > 0) {
    options.log(`${errors.length} of ${count} orders failed to open, e.g. ${errors[0]}`);
  }
  return open;
}

/** Notification IDs of one measurement: `prefix` then the index. */
export const notifyIds = (label: string) => `bench-${randomBytes(3).toString('hex')}-${label}-`;

export interface HandOverResult {
  /** Notifications stored under the measurement's prefix. */
  stored: number;
  byStatus: Record<string, number>;
  /** Still RECEIVED (never handed over) when the wait ended: lost, if the wait timed out. */
  notHandedOver: number;
  /** From the end of the load until none was left RECEIVED (or the timeout). */
  secondsToHandOver: number;
  /** The measurement's pay orders not SUCCEEDED when the wait ended (the worker's backlog). */
  ordersNotSucceeded: number;
}

/**
 * Polls the inbox until every notification whose ID starts with `prefix` has left RECEIVED
 * (handed to its workflow, or acknowledged from the books), or `timeoutMs` passes; with
 * `waitForOrders`, also until `payOrderIds` are all SUCCEEDED (else they are only counted).
 */
export async function untilHandedOver(
  db: Db,
  prefix: string,
  options: { timeoutMs: number; payOrderIds?: string[]; waitForOrders?: boolean },
): Promise<HandOverResult> {
  const started = wallNow();
  const ids = options.payOrderIds ?? [];
  for (;;) {
    const rows = await db
      .select({ status: channelNotifications.status, count: sql<number>`count(*)::int` })
      .from(channelNotifications)
      .where(
        and(
          eq(channelNotifications.channel, 'sandbox'),
          like(channelNotifications.dedupeKey, `${prefix}%`),
        ),
      )
      .groupBy(channelNotifications.status);
    const byStatus = Object.fromEntries(rows.map((r) => [r.status, r.count]));
    const notHandedOver = byStatus.RECEIVED ?? 0;
    const unpaid = await notSucceeded(db, ids);
    const timedOut = wallNow() - started > options.timeoutMs;
    const ordersDone = unpaid === 0 || !options.waitForOrders;
    if ((notHandedOver === 0 && ordersDone) || timedOut) {
      return {
        stored: rows.reduce((sum, r) => sum + r.count, 0),
        byStatus,
        notHandedOver,
        secondsToHandOver: Math.round((wallNow() - started) / 100) / 10,
        ordersNotSucceeded: unpaid,
      };
    }
    await sleep(500);
  }
}

async function notSucceeded(db: Db, payOrderIds: string[]): Promise<number> {
  let count = 0;
  for (let i = 0; i < payOrderIds.length; i += 1000) {
    const [row] = await db
      .select({ count: sql<number>`count(*)::int` })
      .from(payOrders)
      .where(
        and(
          inArray(payOrders.id, payOrderIds.slice(i, i + 1000)),
          ne(payOrders.status, 'SUCCEEDED'),
        ),
      );
    count += row?.count ?? 0;
  }
  return count;
}
