// PostgreSQL's own answer time while a load runs: a one-row INSERT, committed, due every `everyMs`
// on the database paycenter uses. The inbox stores a notification with such a statement before
// the webhook answers, so on a machine that PostgreSQL shares with the worker and Temporal this is
// the floor under the ack, whatever the API does. Beside it the same insert on a connection whose
// commits do not wait for the write-ahead log to reach the disk (`synchronous_commit = off`): the
// difference between the two is the disk's part, the rest a queue for the CPU or for locks. Each
// probe runs on a thread and connection of its own (the bench's event loop is busy sending the
// load); both start sampling together once both are connected, and stop together when the load
// ends. Each sample counts from the insert's due time, so a stall is seen by every insert it
// delayed, not by one.
import { Worker } from 'node:worker_threads';
import { latency, type Latency } from './stats';

export interface CommitProbe extends Latency {
  /** Inserts that failed (a connection lost, say): left out of the figures, never fatal. */
  failed: number;
  firstError?: string;
  /** The setting its connection ran with, as the server said: `on` or `off`. */
  synchronousCommit?: string;
}

export interface CommitProbes {
  /** Durable commits, as the inbox's. */
  flushed: CommitProbe;
  /** Commits that do not wait for the write-ahead log's flush. */
  unflushed: CommitProbe;
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
let go;
const started = new Promise((resolve) => (go = resolve));
parentPort.on('message', (m) => (m === 'go' ? go() : (running = false)));
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
  let synchronousCommit;
  try {
    [{ synchronous_commit: synchronousCommit }] = await sql\`show synchronous_commit\`;
  } catch (err) {
    failed += 1;
    firstError ??= String(err && err.message ? err.message : err);
  }
  parentPort.postMessage({ ready: true });
  await started;
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
  parentPort.postMessage({ samples, failed, firstError, synchronousCommit });
})();
`;

interface ProbeMessage {
  ready?: boolean;
  samples?: number[];
  failed?: number;
  firstError?: string;
  synchronousCommit?: string;
}

/** One probe's thread, and its next message (undefined once it has ended). */
function startProbe(databaseUrl: string, everyMs: number, waitForFlush: boolean) {
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
  let ended = false;
  thread.once('exit', () => (ended = true));
  const message = () =>
    new Promise<ProbeMessage | undefined>((resolve) => {
      if (ended) return resolve(undefined);
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
  const ready = message(); // ready, or ended
  return {
    ready,
    go: () => thread.postMessage('go'),
    async stop(): Promise<CommitProbe> {
      const report = message();
      thread.postMessage('stop');
      const {
        samples,
        failed = 0,
        firstError = threadError,
        synchronousCommit,
      } = (await report) ?? {};
      if (!samples) {
        const why = firstError ?? 'the probe thread ended without its figures';
        return { ...latency([]), failed: 1, firstError: why };
      }
      return {
        ...latency(samples),
        failed,
        ...(firstError ? { firstError } : {}),
        ...(synchronousCommit ? { synchronousCommit } : {}),
      };
    },
    terminate: () => thread.terminate(),
  };
}

/** Runs `during` with both probes beside it; answers its result and the probes' figures. */
export async function withCommitProbes<T>(
  databaseUrl: string,
  everyMs: number,
  during: () => Promise<T>,
): Promise<[T, CommitProbes]> {
  const probes: ReturnType<typeof startProbe>[] = [];
  try {
    // One after the other: each creates the probe's table if it is missing.
    for (const waitForFlush of [true, false]) {
      const probe = startProbe(databaseUrl, everyMs, waitForFlush);
      probes.push(probe);
      await probe.ready;
    }
    for (const probe of probes) probe.go();
    const result = await during();
    const [flushed, unflushed] = await Promise.all(probes.map((probe) => probe.stop()));
    return [result, { flushed: flushed!, unflushed: unflushed! }];
  } finally {
    await Promise.all(probes.map((probe) => probe.terminate()));
  }
}
