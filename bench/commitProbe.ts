// PostgreSQL's own answer time while a load runs: a one-row INSERT, committed, due every `everyMs`
// on the database paycenter uses. The inbox stores a notification with such a statement before
// the webhook answers, so on a machine that PostgreSQL shares with the worker and Temporal this is
// the floor under the ack, whatever the API does. It runs on a thread of its own (the bench's
// event loop is busy sending the load), and each sample counts from the insert's due time, so a
// stall is seen by every insert it delayed, not by one.
import { Worker } from 'node:worker_threads';
import { latency, type Latency } from './stats';

export interface CommitProbe extends Latency {
  /** Inserts that failed (a connection lost, say): left out of the figures, never fatal. */
  failed: number;
  firstError?: string;
}

const probeThread = `
const { parentPort, workerData } = require('node:worker_threads');
const postgres = require(workerData.postgresModule);
const sql = postgres(workerData.url, {
  max: 1,
  onnotice: () => {},
  connection: workerData.waitForFlush ? {} : { synchronous_commit: 'off' },
});
let running = true;
parentPort.on('message', () => (running = false));
(async () => {
  const samples = [];
  let failed = 0;
  let firstError;
  try {
    await sql\`create table if not exists bench_commit_probe
      (n bigserial primary key, at timestamptz not null default now())\`;
  } catch (err) {
    failed += 1;
    firstError = String(err && err.message ? err.message : err);
  }
  parentPort.postMessage({ ready: true });
  const start = performance.now();
  for (let i = 0; running; i++) {
    const due = start + i * workerData.everyMs;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    if (!running) break;
    try {
      await sql\`insert into bench_commit_probe default values\`;
      samples.push(performance.now() - due);
    } catch (err) {
      failed += 1;
      firstError ??= String(err && err.message ? err.message : err);
    }
  }
  await sql.end({ timeout: 5 }).catch(() => {});
  parentPort.postMessage({ samples, failed, firstError });
})();
`;

interface ProbeMessage {
  ready?: boolean;
  samples?: number[];
  failed?: number;
  firstError?: string;
}

/**
 * Runs `during` with the probe beside it; answers its result and the probe's figures. With
 * `waitForFlush: false` the probe's commits do not wait for the write-ahead log to reach the disk
 * (`synchronous_commit = off`): beside a probe that does, the difference is the wait for the disk.
 */
export async function withCommitProbe<T>(
  databaseUrl: string,
  everyMs: number,
  during: () => Promise<T>,
  { waitForFlush = true }: { waitForFlush?: boolean } = {},
): Promise<[T, CommitProbe]> {
  const thread = new Worker(probeThread, {
    eval: true,
    workerData: {
      url: databaseUrl,
      everyMs,
      waitForFlush,
      postgresModule: require.resolve('postgres'),
    },
  });
  let threadError: string | undefined;
  thread.on('error', (err) => (threadError ??= err.message));
  // The thread's next message, or undefined once it has ended.
  const message = () =>
    new Promise<ProbeMessage | undefined>((resolve) => {
      const onMessage = (m: ProbeMessage) => {
        thread.off('exit', onExit);
        resolve(m);
      };
      const onExit = () => {
        thread.off('message', onMessage);
        resolve(undefined);
      };
      thread.once('message', onMessage);
      thread.once('exit', onExit);
    });
  try {
    await message(); // ready, or ended
    const result = await during();
    const report = message();
    thread.postMessage('stop');
    const { samples, failed = 0, firstError = threadError } = (await report) ?? {};
    if (!samples) {
      const why = firstError ?? 'the probe thread ended without its figures';
      return [result, { ...latency([]), failed: 1, firstError: why }];
    }
    return [result, { ...latency(samples), failed, ...(firstError ? { firstError } : {}) }];
  } finally {
    await thread.terminate();
  }
}
