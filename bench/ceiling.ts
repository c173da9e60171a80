// The engine's ceilings for one payment, driven straight through the Temporal client, no API, no
// DB: the bare workflow of paycenter's shape before issue 17 (start, pay update, notify signal,
// wait for the notification child), the bare workflow of its shape now (start, pay update, notify
// signal, wait for the first merchant delivery try), and the minimal one (start, one Update
// calling one activity, one signal, complete).
import { WorkflowNotFoundError, type Client, type WorkflowOptions } from '@temporalio/client';
import { searchAttributes } from '../src/workflows/contracts/payment';
import {
  bareEventId,
  bareNotify,
  barePay,
  currentNotify,
  currentPay,
  minimalNotify,
  minimalPay,
} from './workflows';
import { closedLoop, latency, sleep, wallNow, type Latency } from './stats';
import { cpuMsPer, cpuSnapshot } from './cpu';

export interface CeilingResult {
  concurrency: number;
  completed: number;
  failed: number;
  errors: string[];
  seconds: number;
  perSecond: number;
  startToNotifiedMs: Latency;
  /**
   * CPU per completed run: Temporal, the bare worker, and the bench as the driver (the client
   * calls that paycenter's API makes for a payment, and more: waiting on each run's result, and
   * copying its children's logs, so an upper bound); the parts these runs do not use show as
   * well (paycenter's idle worker, API and sandbox, PostgreSQL): other load on the machine.
   */
  cpuMsPerRun: ReturnType<typeof cpuMsPer>;
}

let sequence = 0;

/**
 * The start options of a pay order's workflow: its ID rule, search attributes and summary (not its
 * input or details).
 */
export function startedAsPayOrder(id: string, taskQueue: string): WorkflowOptions {
  return {
    workflowId: id,
    taskQueue,
    workflowIdReusePolicy: 'REJECT_DUPLICATE',
    workflowIdConflictPolicy: 'FAIL',
    typedSearchAttributes: [
      { key: searchAttributes.merchantId, value: 'mch_bench' },
      { key: searchAttributes.merchantOrderNo, value: id },
      { key: searchAttributes.payStatus, value: 'CREATED' },
      { key: searchAttributes.needsAttention, value: false },
      { key: searchAttributes.amount, value: 1234 },
      { key: searchAttributes.expiresAt, value: new Date(Date.now() + 3600_000) },
    ],
    staticSummary: `Pay 12.34 CNY · mch_bench · ${id}`,
  };
}

async function bareOnce(client: Client, taskQueue: string, runId: string): Promise<number> {
  const id = `bare-${runId}-${++sequence}`;
  const started = wallNow();
  const handle = await client.workflow.start('barePayment', {
    ...startedAsPayOrder(id, taskQueue),
    args: [72 * 3600],
  });
  await handle.executeUpdate(barePay);
  await handle.signal(bareNotify);
  const child = client.workflow.getHandle(bareEventId(id));
  // Backing off: a tight poll for a child not started yet would load the server it measures.
  for (let wait = 50; ; wait = Math.min(wait * 2, 400)) {
    try {
      await child.result();
      return wallNow() - started;
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
      await sleep(wait); // the parent has not started its child yet
    }
  }
}

async function minimalOnce(client: Client, taskQueue: string, runId: string): Promise<number> {
  const started = wallNow();
  const handle = await client.workflow.start('minimalPayment', {
    workflowId: `minimal-${runId}-${++sequence}`,
    taskQueue,
    workflowIdReusePolicy: 'REJECT_DUPLICATE',
  });
  await handle.executeUpdate(minimalPay);
  await handle.signal(minimalNotify);
  await handle.result();
  return wallNow() - started;
}

async function currentShapeOnce(client: Client, taskQueue: string, runId: string) {
  const started = wallNow();
  const handle = await client.workflow.start('currentShapePayment', {
    ...startedAsPayOrder(`current-${runId}-${++sequence}`, taskQueue),
    // Expiry and first query timers long enough that the Update and the signal come first.
    args: [900, 30],
  });
  await handle.executeUpdate(currentPay);
  await handle.signal(currentNotify);
  await handle.result();
  return wallNow() - started;
}

const ceilingRuns = {
  'same-shape': bareOnce,
  'current-shape': currentShapeOnce,
  minimal: minimalOnce,
};

export type CeilingShape = keyof typeof ceilingRuns;

export async function runCeiling(
  client: Client,
  taskQueue: string,
  runId: string,
  load: { count: number; concurrency: number },
  shape: CeilingShape = 'same-shape',
): Promise<CeilingResult> {
  const once = ceilingRuns[shape];
  const samples: number[] = [];
  const errors: string[] = [];
  let failed = 0;
  const started = wallNow();
  const cpuBefore = cpuSnapshot({ withDriver: true });
  await closedLoop(load.count, load.concurrency, async () => {
    try {
      samples.push(await once(client, taskQueue, runId));
    } catch (err) {
      failed += 1;
      if (errors.length < 5) errors.push(String((err as Error).message ?? err));
    }
  });
  const seconds = (wallNow() - started) / 1000;
  const cpuMsPerRun = cpuMsPer(cpuBefore, cpuSnapshot({ withDriver: true }), samples.length);
  return {
    concurrency: load.concurrency,
    completed: samples.length,
    failed,
    errors,
    seconds: Math.round(seconds * 10) / 10,
    perSecond: Math.round((samples.length / seconds) * 10) / 10,
    startToNotifiedMs: latency(samples),
    cpuMsPerRun,
  };
}
