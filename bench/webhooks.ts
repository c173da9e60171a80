// Webhook acknowledgement latency: signed sandbox notifications at a fixed rate to
// /webhooks/sandbox, beside the same load on an empty Fastify route.
import { randomBytes } from 'node:crypto';
import { signedHeaders } from '../src/channels/sandbox/protocol';
import { request } from './http';
import { latency, openLoop, wallNow, type Latency } from './stats';

export interface PaidTrade {
  outTradeNo: string;
  tradeNo?: string;
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

/**
 * Notifications for orders that are already paid, each with a fresh notify_id: the channel's
 * retries of a success. Every one takes the whole path (verify, inbox insert, attempt lookup,
 * signal to its workflow, mark delivered) — only the workflow finds nothing new in it.
 */
export async function measureAcks(
  target: { name: string; url: string },
  trades: PaidTrade[],
  sandbox: { appId: string; secret: string },
  load: { perSecond: number; seconds: number },
): Promise<AckResult> {
  const acks: number[] = [];
  const lags: number[] = [];
  let failed = 0;
  const run = randomBytes(3).toString('hex');
  await openLoop(load.perSecond * load.seconds, load.perSecond, async (i, due) => {
    const trade = trades[i % trades.length]!;
    const body = JSON.stringify({
      notify_id: `bench-${run}-${i}`,
      out_trade_no: trade.outTradeNo,
      trade_no: trade.tradeNo ?? '',
      trade_status: 'TRADE_SUCCESS',
      total_amount: 1234,
      currency: 'CNY',
      gmt_payment: new Date().toISOString(),
    });
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
    sent: load.perSecond * load.seconds,
    failed,
    ackMs: latency(acks),
    sendLagMs: latency(lags),
  };
}
