// Open payments at scale: many pay orders paid for at the channel but never by the payer, so each
// workflow waits with its expiry and query timers pending; what that costs and how late the
// queries run while they are open.
import type { Client } from '@temporalio/client';
import { payOnce, type PaymentDriver } from './e2e';
import { closedLoop, latency, sleep, wallNow, type Latency } from './stats';
import { processMemory, type Stack } from './stack';
import { queryLateness } from './timeShare';

export interface OpenResult {
  open: number;
  failed: number;
  errors: string[];
  createSeconds: number;
  workerRssBefore: number;
  workerRssAfter: number;
  workerPeakRss: number;
  temporalBytesPerPayment: number;
  postgresBytesPerPayment: number;
  /** Sampled histories: query activity start minus its timer's due time. */
  queryLatenessMs: Latency;
  /** Its parts: the timer firing late, the workflow task scheduling the query, its dispatch. */
  queryLatenessParts: {
    timerFiringMs: Latency;
    workflowTaskMs: Latency;
    activityDispatchMs: Latency;
  };
  sampledOrders: number;
}

const workersRss = (pids: number[]) => pids.reduce((sum, pid) => sum + processMemory(pid).rss, 0);

export async function runOpenPayments(
  stack: Stack,
  driver: PaymentDriver,
  client: Client,
  /** The worker processes: their memory is counted together. */
  workerPids: number[],
  options: { count: number; concurrency: number; firstQuerySeconds: number; sample: number },
): Promise<OpenResult> {
  const before = {
    rss: workersRss(workerPids),
    temporal: await stack.temporalDiskBytes(),
    postgres: await stack.databaseBytes(),
  };
  const ids: string[] = [];
  const errors: string[] = [];
  let failed = 0;
  let peak = before.rss;
  const watch = setInterval(() => {
    peak = Math.max(peak, workersRss(workerPids));
  }, 1000);
  try {
    const started = wallNow();
    let lastPaid = started;
    await closedLoop(options.count, options.concurrency, async () => {
      try {
        const j = await payOnce(driver, { expiresInSeconds: 24 * 3600, payerPays: false });
        ids.push(j.payOrderId);
        lastPaid = Math.max(lastPaid, j.payDone);
      } catch (err) {
        failed += 1;
        if (errors.length < 5) errors.push(String((err as Error).message ?? err));
      }
    });
    const createSeconds = (wallNow() - started) / 1000;
    // Every order's first query falls due firstQuerySeconds after its pay; wait for the last.
    const waitMs = lastPaid + options.firstQuerySeconds * 1000 + 15_000 - wallNow();
    if (waitMs > 0) await sleep(waitMs);
    const after = {
      rss: workersRss(workerPids),
      temporal: await stack.temporalDiskBytes(),
      postgres: await stack.databaseBytes(),
    };
    const step = Math.max(1, Math.floor(ids.length / options.sample));
    const sampled = ids.filter((_, i) => i % step === 0).slice(0, options.sample);
    const lateness = await queryLateness(client, sampled);
    return {
      open: ids.length,
      failed,
      errors,
      createSeconds: Math.round(createSeconds * 10) / 10,
      workerRssBefore: before.rss,
      workerRssAfter: after.rss,
      workerPeakRss: Math.max(peak, workersRss(workerPids)),
      temporalBytesPerPayment: Math.round((after.temporal - before.temporal) / ids.length),
      postgresBytesPerPayment: Math.round((after.postgres - before.postgres) / ids.length),
      queryLatenessMs: latency(lateness.total),
      queryLatenessParts: {
        timerFiringMs: latency(lateness.timerFiring),
        workflowTaskMs: latency(lateness.workflowTask),
        activityDispatchMs: latency(lateness.activityDispatch),
      },
      sampledOrders: sampled.length,
    };
  } finally {
    clearInterval(watch);
  }
}
