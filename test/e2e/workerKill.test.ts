// A worker machine dies in the middle of a stream of payments: two worker processes serve the
// payments (`src/main.ts worker`, as deployed), one is killed with SIGKILL while orders are still
// arriving, and every payment still settles. The payments it held move to the other worker (its
// cached workflows are replayed there, its unfinished activities time out and are retried), so
// each order ends SUCCEEDED with its money where it belongs. With `npm run test:cluster` this runs
// against the real Temporal server.
// @cluster: a worker killed mid-load, every payment still settles.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, it } from 'node:test';
import { expectMoneyConserved } from '../support/money';
import { payerPays, payingOrder, reached } from '../support/payments';
import { startPaycenterProcess, type PaycenterProcess } from '../support/paycenterProcess';
import { freePort } from '../support/ports';
import {
  runTemporalAddress,
  startTestSystem,
  testChannelKeys,
  testSecretKey,
  type TestSystem,
} from '../support/system';

/** Orders paid while both workers run, then as many while one of them dies. */
const ORDERS_PER_PHASE = 12;

let system: TestSystem;
let dataDir: string;
const workers: PaycenterProcess[] = [];

/** A worker process of this file's system: its own health port, the system's task queue. */
async function startWorkerProcess(): Promise<PaycenterProcess> {
  const healthPort = await freePort();
  return startPaycenterProcess(
    'worker',
    {
      DATA_DIR: dataDir,
      DATABASE_URL: system.databaseUrl,
      TEMPORAL_ADDRESS: runTemporalAddress(),
      TEMPORAL_TASK_QUEUE: system.config.TEMPORAL_TASK_QUEUE,
      PUBLIC_API_URL: system.apiUrl,
      SIMULATOR_URL: system.simulatorUrl,
      PAYCENTER_SECRET_KEY: testSecretKey.toString('hex'),
      PAYCENTER_DEMO_API_KEY: system.apiKey,
      NOTIFY_URL_ALLOWED_HOSTS: '127.0.0.1,localhost',
      SAFETY_NET_INTERVAL_SECONDS: '86400',
      WORKER_HEALTH_PORT: String(healthPort),
    },
    `http://127.0.0.1:${healthPort}/readyz`,
  );
}

before(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'paycenter-worker-kill-'));
  // Every process signs and verifies with the same channel key pairs.
  writeFileSync(path.join(dataDir, 'channel-keys.json'), JSON.stringify(testChannelKeys()));
  system = await startTestSystem({
    ownWorkers: true,
    // The worker processes' scans would read the whole books: this file's own.
    ownDatabase: true,
    env: { SAFETY_NET_INTERVAL_SECONDS: '86400' },
  });
  workers.push(await startWorkerProcess(), await startWorkerProcess());
});
after(async () => {
  for (const worker of workers) await worker.kill();
  await system?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const order = (i: number) => ({
  prefix: 'worker-kill',
  amount: 1_000 + i,
  subject: 'Noodles',
  expiresInSeconds: 600,
});

/** The identities of the workers that ran the workflow tasks of a pay order's workflow. */
async function workflowTaskWorkers(id: string): Promise<Set<string>> {
  const history = await system.temporal.workflow.getHandle(id).fetchHistory();
  return new Set(
    (history.events ?? []).flatMap((event) => {
      const identity = event.workflowTaskStartedEventAttributes?.identity;
      return identity ? [identity] : [];
    }),
  );
}

/** The SDK's default identity of a worker process: `pid@host`. */
const isWorker = (identity: string, worker: PaycenterProcess) =>
  identity.startsWith(`${worker.pid}@`);

it('every payment settles when one of two workers is killed mid-load', async () => {
  const [doomed, survivor] = workers as [PaycenterProcess, PaycenterProcess];

  const before = await Promise.all(
    Array.from({ length: ORDERS_PER_PHASE }, (_, i) => payingOrder(system, order(i))),
  );
  const servedBefore = await Promise.all(before.map((o) => workflowTaskWorkers(o.id)));
  assert.ok(
    servedBefore.some((identities) => [...identities].some((i) => isWorker(i, doomed))),
    'the worker to be killed ran some payments before it died',
  );

  // More orders arrive while the worker dies; the payers of the first ones pay meanwhile.
  const during = Array.from({ length: ORDERS_PER_PHASE }, (_, i) =>
    payingOrder(system, order(ORDERS_PER_PHASE + i)),
  );
  const paying = before.map((o) => payerPays(system, o.outTradeNo));
  await doomed.kill();
  const all = [...before, ...(await Promise.all(during))];
  await Promise.all(paying);
  await Promise.all(all.slice(ORDERS_PER_PHASE).map((o) => payerPays(system, o.outTradeNo)));

  for (const o of all) await reached(system, o.id, 'SUCCEEDED', { timeoutMs: 90_000 });
  for (const o of all) await expectMoneyConserved(system, o.id);

  // The payments the dead worker held went on at the survivor.
  const servedAfter = await Promise.all(before.map((o) => workflowTaskWorkers(o.id)));
  assert.ok(
    servedAfter.some(
      (identities) =>
        [...identities].some((i) => isWorker(i, doomed)) &&
        [...identities].some((i) => isWorker(i, survivor)),
    ),
    'a payment begun at the killed worker was finished by the other one',
  );
});
