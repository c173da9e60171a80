// Webhook acknowledgement latency: signed sandbox notifications at a fixed rate to
// /webhooks/sandbox, beside the same load on an empty Fastify route.
import { randomBytes } from 'node:crypto';
import { signedHeaders } from '../src/channels/sandbox/protocol';
import { request } from './http';
import { latency, openLoop, wallNow, type Latency } from './stats';

export interface OpenTrade {
  outTradeNo: string;
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
 * WAIT_BUYER_PAY notifications for open orders, each with a fresh notify_id. Every one takes the
 * whole path: verify, attempt lookup, inbox insert, the answer, and then (after the answer) the
 * signal to its workflow and the row marked delivered, so the hand-overs load the machine while
 * the answers are timed; the workflow finds nothing new in them.
 */
export async function measureAcks(
  target: { name: string; url: string },
  trades: OpenTrade[],
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
      trade_no: '',
      trade_status: 'WAIT_BUYER_PAY',
      total_amount: 1234,
      currency: 'CNY',
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
