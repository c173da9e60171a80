// The webhook path under load: acknowledgements while the notifications' payments saturate the
// worker and Temporal, and an ingest rate sweep that checks afterwards that none was lost.
import os from 'node:os';
import type { Db } from '../src/db/client';
import type { PaymentDriver } from './e2e';
import { withApiPauses, type ApiPauses } from './apiPauses';
import { withCommitProbes, type CommitProbe } from './commitProbe';
import { pressureBetween, pressureTotals, type Pressure } from './pressure';
import { cpuSeconds, type Child } from './stack';
import { wallNow } from './stats';
import {
  measureAcks,
  notifyIds,
  openOrders,
  sandboxNotification,
  untilHandedOver,
  type AckResult,
  type HandOverResult,
  type OpenTrade,
  type SandboxKeys,
} from './webhooks';

export interface Load {
  /** Share of one core each process used while the notifications were sent. */
  apiCores: number;
  workerCores: number;
  /** The machine's 1-minute load average at the end of the load. */
  loadAverage: number;
  /**
   * CPU the API spent per notification sent (ms): with `apiCores`, the rate the API could answer
   * if it had those cores to itself, and what it got of them while the others were busy.
   */
  apiCpuMsPerNotification: number;
  /**
   * Meanwhile, a one-row INSERT and its commit on the same PostgreSQL database, due every 20 ms:
   * the inbox's store is such a statement, so this bounds the ack from below on a shared machine.
   */
  postgresCommitMs: CommitProbe;
  /**
   * The same probe, sampled over the same time, with commits that do not wait for the write-ahead
   * log's flush: what is left of the commit's time without the disk (the CPU's queue, locks).
   */
  postgresUnflushedCommitMs: CommitProbe;
  /** Meanwhile, how much of the time the machine's tasks stalled waiting for a core or the disk. */
  pressure?: Pressure;
  /** Meanwhile, how late the API's event loop ran and how long its garbage collector paused it. */
  apiPauses: ApiPauses;
}

export interface IngestContext {
  driver: PaymentDriver;
  db: Db;
  /** The same database's URL, for the commit probe's own connection. */
  databaseUrl: string;
  api: Child;
  workers: Child[];
  sandbox: SandboxKeys;
  handOverTimeoutSeconds: number;
  log: (line: string) => void;
}

/** Runs `load` and answers what it answers with the API's and workers' CPU meanwhile. */
async function withLoad<T extends { sent: number }>(
  ctx: IngestContext,
  load: () => Promise<T>,
): Promise<[T, Load]> {
  const cpu = () => ({
    api: cpuSeconds(ctx.api.pid),
    workers: ctx.workers.reduce((sum, w) => sum + cpuSeconds(w.pid), 0),
  });
  // Only the load is timed, not the probes' start and stop around it.
  const timedLoad = async () => {
    const before = cpu();
    const stallsBefore = pressureTotals();
    const started = wallNow();
    const [result, apiPauses] = await withApiPauses(ctx.api.url!, load);
    const seconds = (wallNow() - started) / 1000;
    const stallsAfter = pressureTotals();
    const pressure =
      stallsBefore && stallsAfter
        ? pressureBetween(stallsBefore, stallsAfter, seconds * 1000)
        : undefined;
    return { result, before, after: cpu(), seconds, apiPauses, pressure };
  };
  const [{ result, before, after, seconds, apiPauses, pressure }, probes] = await withCommitProbes(
    ctx.databaseUrl,
    20,
    timedLoad,
  );
  const share = (used: number) => Math.round((used / seconds) * 100) / 100;
  return [
    result,
    {
      apiCores: share(after.api - before.api),
      workerCores: share(after.workers - before.workers),
      loadAverage: os.loadavg()[0]!,
      apiCpuMsPerNotification:
        result.sent === 0 ? 0 : Math.round(((after.api - before.api) / result.sent) * 1e5) / 100,
      postgresCommitMs: probes.flushed,
      postgresUnflushedCommitMs: probes.unflushed,
      ...(pressure ? { pressure } : {}),
      apiPauses,
    },
  ];
}

export interface AckUnderLoad {
  paycenter: AckResult;
  bare: AckResult;
  /**
   * The empty route meanwhile, at a light rate of its own (`bareUnderLoadPerSecond`) while
   * paycenter takes the load: how long a process that does nothing with a notification takes to
   * answer on the machine in that state, the queue for a core included.
   */
  bareUnderLoad: AckResult;
  p99Ratio: number;
  load: Load;
  /** Every notification stored, handed over (none lost). */
  handOver: HandOverResult;
  /** Then until every notified order was SUCCEEDED: how long the worker took to pay them all. */
  settled: HandOverResult;
  openSeconds: number;
}

/**
 * Webhook acks at `perSecond`: TRADE_SUCCESS notifications, each for a distinct open order, so
 * every one is handed over and pays its order while the API acknowledges the next, with a light
 * stream to an empty Fastify route beside it (`bareUnderLoad`); then, once the orders are paid,
 * the same load on the empty route (`bare`), which answers without looking at them.
 */
export async function ackUnderLoad(
  ctx: IngestContext,
  options: { perSecond: number; seconds: number; startBareRoute: () => Promise<Child> },
): Promise<AckUnderLoad> {
  const warm = { perSecond: options.perSecond, seconds: 1 };
  const load = { perSecond: options.perSecond, seconds: options.seconds };
  const needed = Math.round(options.perSecond * (warm.seconds + load.seconds));
  ctx.log(`opening ${needed} orders, one for each success notification`);
  const opening = wallNow();
  const trades = await openOrders(ctx.driver, needed, { concurrency: 16, log: ctx.log });
  const openSeconds = Math.round((wallNow() - opening) / 100) / 10;
  const warmTrades = trades.slice(0, warm.perSecond);
  const measured = trades.slice(warm.perSecond);
  if (measured.length === 0) {
    throw new Error(`webhook acks: ${trades.length} of ${needed} orders opened, none to measure`);
  }
  const success = (prefix: string, of: OpenTrade[]) => (i: number) =>
    sandboxNotification(`${prefix}${i}`, of[i % of.length]!, 'TRADE_SUCCESS');

  ctx.log(`webhook acks: ${load.perSecond}/s for ${load.seconds}s, successes of open orders`);
  const target = { name: 'paycenter /webhooks/sandbox', url: ctx.api.url! };
  const bareRoute = await options.startBareRoute();
  try {
    const bareTarget = { name: 'bare Fastify route', url: bareRoute.url! };
    await measureAcks(target, ctx.sandbox, warm, success(notifyIds('warm'), warmTrades));
    await measureAcks(bareTarget, ctx.sandbox, warm, success(notifyIds('bare'), warmTrades));
    const prefix = notifyIds('acks');
    const beside = { perSecond: bareUnderLoadPerSecond, seconds: load.seconds };
    const [{ paycenter, bareUnderLoad }, usage] = await withLoad(ctx, async () => {
      const [paycenter, bareUnderLoad] = await Promise.all([
        measureAcks(target, ctx.sandbox, load, success(prefix, measured)),
        measureAcks(bareTarget, ctx.sandbox, beside, success(notifyIds('beside'), measured)),
      ]);
      return { sent: paycenter.sent, paycenter, bareUnderLoad };
    });
    const timeoutMs = ctx.handOverTimeoutSeconds * 1000;
    const handOver = await untilHandedOver(ctx.db, prefix, {
      timeoutMs,
      payOrderIds: measured.map((t) => t.payOrderId),
    });
    ctx.log(`handed over in ${handOver.secondsToHandOver}s; waiting for the orders to be paid`);
    const settled = await untilHandedOver(ctx.db, prefix, {
      timeoutMs: Math.max(timeoutMs, 600_000),
      payOrderIds: measured.map((t) => t.payOrderId),
      waitForOrders: true,
    });

    ctx.log('the same load on a bare Fastify route');
    const bare = await measureAcks(bareTarget, ctx.sandbox, load, success('bare', measured));
    const ratio = Math.round((paycenter.ackMs.p99 / bare.ackMs.p99) * 100) / 100;
    return {
      paycenter,
      bare,
      bareUnderLoad,
      p99Ratio: ratio,
      load: usage,
      handOver,
      settled,
      openSeconds,
    };
  } finally {
    await bareRoute.stop();
  }
}

/** A light rate of notifications to the empty route while paycenter takes the load. */
const bareUnderLoadPerSecond = 50;

export interface IngestStep {
  ack: AckResult;
  load: Load;
  orders: number;
  handOver: HandOverResult;
  /** p99 ≤ 50 ms, no failures, every notification handed over and every order paid. */
  meetsTarget: boolean;
}

/**
 * The ingest sweep: at each rate, for `seconds`, TRADE_SUCCESS notifications (each with its own
 * notification ID) about `orders` fresh open orders in turn, so each order is paid by its first
 * and the rest repeat the success, as a channel's duplicates do: handed over while the books lag
 * behind the workflow, then acknowledged from the books. Afterwards every notification must have
 * left RECEIVED and every order must be SUCCEEDED (else counted as lost). A rate at which no
 * order could be opened ends the sweep: the steps answered are those measured.
 */
export async function ingestSweep(
  ctx: IngestContext,
  options: { rates: number[]; seconds: number; orders: number },
): Promise<IngestStep[]> {
  const steps: IngestStep[] = [];
  for (const perSecond of options.rates) {
    const trades = await openOrders(ctx.driver, options.orders, { concurrency: 16, log: ctx.log });
    if (trades.length === 0) {
      // Nothing to notify about (the system is too busy to open orders): the rates that are left
      // are not measured, and the run still reports what it measured before.
      ctx.log(`ingest: no order opened for ${perSecond}/s; the sweep stops here`);
      break;
    }
    ctx.log(`ingest: ${perSecond}/s for ${options.seconds}s over ${trades.length} orders`);
    const prefix = notifyIds(`ingest${perSecond}`);
    const target = { name: 'paycenter /webhooks/sandbox', url: ctx.api.url! };
    const [ack, load] = await withLoad(ctx, () =>
      measureAcks(target, ctx.sandbox, { perSecond, seconds: options.seconds }, (i) =>
        sandboxNotification(`${prefix}${i}`, trades[i % trades.length]!, 'TRADE_SUCCESS'),
      ),
    );
    const handOver = await untilHandedOver(ctx.db, prefix, {
      timeoutMs: ctx.handOverTimeoutSeconds * 1000,
      payOrderIds: trades.map((t) => t.payOrderId),
      waitForOrders: true,
    });
    steps.push({
      ack,
      load,
      orders: trades.length,
      handOver,
      meetsTarget:
        ack.ackMs.p99 <= 50 &&
        ack.failed === 0 &&
        handOver.notHandedOver === 0 &&
        handOver.ordersNotSucceeded === 0 &&
        handOver.stored === ack.sent,
    });
  }
  return steps;
}
