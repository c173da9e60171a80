// Open payments at scale: many pay orders paid for at the channel but never by the payer, so each
// workflow waits with its expiry and query timers pending; what that costs and how late the
// queries run while they are open.
import type { Client } from '@temporalio/client';
import { startedAsPayOrder } from './ceiling';
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
  /**
   * The engine's floor beside it: Temporal disk per open workflow that does nothing but wait on
   * its expiry timer, started as a pay order's is (bench/workflows `openFloor`), as many.
   */
  temporalBytesPerOpenFloor: number | undefined;
  postgresBytesPerPayment: number;
  /** Sampled histories: query activity start minus its timer's due time. */
  queryLatenessMs: Latency;
  /** Its parts: the timer firing late, the workflow task scheduling the query, its dispatch. */
  queryLatenessParts: {
    timerFiringMs: Latency;
    workflowTaskMs: Latency;
    workflowTaskWaitMs: Latency;
    workflowTaskRunMs: Latency;
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
  // First, while nothing else writes to Temporal (the open payments' next queries would).
  const floorBytes = await openFloorBytes(stack, client, options.count, options.concurrency);
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
      temporalBytesPerOpenFloor: floorBytes,
      postgresBytesPerPayment: Math.round((after.postgres - before.postgres) / ids.length),
      queryLatenessMs: latency(lateness.total),
      queryLatenessParts: {
        timerFiringMs: latency(lateness.timerFiring),
        workflowTaskMs: latency(lateness.workflowTask),
        workflowTaskWaitMs: latency(lateness.workflowTaskWait),
        workflowTaskRunMs: latency(lateness.workflowTaskRun),
        activityDispatchMs: latency(lateness.activityDispatch),
      },
      sampledOrders: sampled.length,
    };
  } finally {
    clearInterval(watch);
  }
}

/**
 * Temporal disk per open workflow at the engine's floor: `count` `openFloor` workflows started
 * on a worker of their own, measured once every one has started its timer (the file's growth,
 * as for the open payments). A warm-up batch first grows SQLite's write-ahead log to its size
 * (about 4 MiB), which would otherwise count against the floor. Undefined when Temporal keeps no
 * file (`--temporal-in-memory`) or the floor could not be measured: the phase goes on without it.
 */
async function openFloorBytes(
  stack: Stack,
  client: Client,
  count: number,
  concurrency: number,
): Promise<number | undefined> {
  if ((await stack.temporalDiskBytes()) === 0) return undefined;
  const taskQueue = 'open-floor-bench';
  const worker = await stack.start('bare-worker', { TEMPORAL_TASK_QUEUE: taskQueue });
  try {
    const runId = Date.now().toString(36);
    await openFloors(client, taskQueue, `${runId}w`, floorWarmup, concurrency);
    const before = await stack.temporalDiskBytes();
    await openFloors(client, taskQueue, runId, count, concurrency);
    return Math.round(((await stack.temporalDiskBytes()) - before) / count);
  } catch (err) {
    console.error(`the engine's disk floor was not measured: ${(err as Error).message ?? err}`);
    return undefined;
  } finally {
    await worker.stop();
  }
}

/** About 9 MiB written: more than the write-ahead log holds before SQLite checkpoints it. */
const floorWarmup = 500;

/** How long a floor workflow may take to start its timer once started. */
const floorTimerDeadlineMs = 120_000;

/** Starts `count` `openFloor` workflows and waits until each has started its timer. */
async function openFloors(
  client: Client,
  taskQueue: string,
  runId: string,
  count: number,
  concurrency: number,
) {
  const ids = Array.from({ length: count }, (_, i) => `open-floor-${runId}-${i}`);
  await closedLoop(count, concurrency, async (i) => {
    await client.workflow.start('openFloor', {
      ...startedAsPayOrder(ids[i]!, taskQueue),
      args: [24 * 3600],
    });
  });
  const deadline = wallNow() + floorTimerDeadlineMs;
  // Started, its first workflow task completed with the timer: 5 events.
  await closedLoop(count, concurrency, async (i) => {
    const handle = client.workflow.getHandle(ids[i]!);
    while ((await handle.describe()).historyLength < 5) {
      if (wallNow() > deadline) throw new Error(`${ids[i]} has not started its timer`);
      await sleep(200);
    }
  });
}
