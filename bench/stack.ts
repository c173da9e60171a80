// Brings up everything the bench measures, on free ports and in a temp folder, and takes it all
// down again (also on error): a Temporal dev server with its own SQLite file (or, `--cluster`, the
// real Temporal server on databases of its own), a throwaway PostgreSQL database, and paycenter's
// sandbox, workers and APIs each in a child process.
import { execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { atBackgroundPriority } from '../src/cpuPriority';
import { startChild } from './child';
import { loadOrCreateChannelKeys } from '../src/keyStore';
import { databasesSize, ensureDatabaseExists, openPostgres, type Database } from '../src/db/client';
import { startTemporalDevServer } from '../src/dev/temporal';
import { startClusterTemporal } from '../test/support/clusterTemporal';
import { demoMerchantId, ensureMerchant, generateSecret } from '../src/services/merchants';
import { createSecretBox } from '../src/services/secretBox';
import { withWorkerHeap } from '../src/system';
import { freePort, onFreePort } from '../test/support/ports';

const root = path.resolve(__dirname, '..');

export type Role = 'sandbox' | 'worker' | 'api' | 'bare-worker' | 'bare-route';

export interface Child {
  role: Role;
  pid: number;
  url?: string;
  stop(): Promise<void>;
}

export interface Stack {
  dir: string;
  temporalAddress: string;
  /** What the Temporal server is: the CLI's version line(s), or the real server's. */
  temporalVersion: string;
  database: Database;
  databaseName: string;
  apiKey: string;
  taskQueue: string;
  /** The environment every paycenter child gets (config variables). */
  env: Record<string, string>;
  start(role: Role, env?: Record<string, string>): Promise<Child>;
  /** What Temporal keeps on disk: its SQLite file, or its two PostgreSQL databases. */
  temporalDiskBytes(): Promise<number>;
  databaseBytes(): Promise<number>;
  stop(): Promise<void>;
}

const children = new Set<ChildProcess>();
// Last resort: never leave a child running when the bench process goes away.
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

/** Every stack started and not stopped yet (a `--baseline` run's too), by its stop. */
const runningStacks = new Set<() => Promise<void>>();

/** Stops every stack still running: a run that fails or is interrupted leaves none behind. */
export async function stopRunningStacks(): Promise<void> {
  for (const stop of [...runningStacks]) await stop();
}

export function temporalCliPath(): string | undefined {
  if (process.env.TEMPORAL_CLI) return process.env.TEMPORAL_CLI;
  try {
    return execFileSync('bash', [path.join(root, 'scripts/temporal-cli.sh')], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return undefined;
  }
}

export async function startStack(options: {
  logLevel: string;
  querySchedule: string;
  tuningEnv: Record<string, string>;
  /** Off by default: a SQLite file is what `npm start` uses, and its growth is measured. */
  temporalInMemory: boolean;
  temporalPragmas: string[];
  cluster: boolean;
  /** The worker, the sandbox and Temporal below the API's CPU priority (src/cpuPriority.ts). */
  backgroundPriority: boolean;
  /**
   * The checkout whose bench/serve.ts the children run and whose migrations make the database:
   * this one by default, an older commit's for `--baseline` (bench/baseline.ts). The Temporal
   * server is this tree's in both, so a comparison is of paycenter's code, not of the engine.
   */
  root?: string;
}): Promise<Stack> {
  const tree = options.root ?? root;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'paycenter-bench-'));
  const cleanups: (() => Promise<void>)[] = [
    () => Promise.resolve(rmSync(dir, { recursive: true, force: true })),
  ];
  // Once, whoever asks first (the run's own `finally`, or its handler of a fatal error).
  let stopping: Promise<void> | undefined;
  const stopAll = () =>
    (stopping ??= (async () => {
      for (const cleanup of cleanups.reverse()) await cleanup().catch((err) => console.error(err));
      cleanups.length = 0;
      runningStacks.delete(stopAll);
    })());
  runningStacks.add(stopAll);
  try {
    const databaseName = `paycenter_bench_${randomBytes(4).toString('hex')}`;
    const apiKey = generateSecret('pk_bench');
    const secretKey = randomBytes(32);
    const {
      url: dbUrl,
      database,
      drop,
    } = await throwawayDatabase(databaseName, apiKey, secretKey, path.join(tree, 'drizzle'));
    cleanups.push(drop);
    loadOrCreateChannelKeys(dir);

    const temporal = options.cluster
      ? await startClusterTemporal(databaseServerUrl(), `bench_${randomBytes(4).toString('hex')}`, {
          background: options.backgroundPriority,
        })
      : await startDevServer(dir, options);
    cleanups.push(() => temporal.stop());

    const [apiPort, sandboxPort] = [await freePort(), await freePort()];
    const taskQueue = 'payments-bench';
    const env: Record<string, string> = {
      // The bench pays through the sandbox: test mode, whatever the caller's shell says.
      PAYCENTER_MODE: 'test',
      LOG_LEVEL: options.logLevel,
      DATA_DIR: dir,
      DATABASE_URL: dbUrl,
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_TASK_QUEUE: taskQueue,
      API_PORT: String(apiPort),
      SIMULATOR_PORT: String(sandboxPort),
      // One merchant key drives all the load; the per-key limit would measure the limiter.
      API_RATE_LIMIT_PER_MINUTE: '100000000',
      QUERY_SCHEDULE_SECONDS: options.querySchedule,
      PAYCENTER_OPS_API_KEY: generateSecret('ops_bench'),
      PAYCENTER_SECRET_KEY: secretKey.toString('hex'),
      // the bench's merchant receiver listens on loopback
      NOTIFY_URL_ALLOWED_HOSTS: '127.0.0.1',
      ...options.tuningEnv,
    };

    const start = async (role: Role, extra: Record<string, string> = {}): Promise<Child> => {
      const merged = { ...process.env, ...env, ...extra };
      // The bench's worker runs as deployed: with the worker's heap ceiling (src/system.ts).
      const childEnv = role === 'worker' ? withWorkerHeap(merged) : merged;
      const serve = {
        command: process.execPath,
        args: ['--import', 'tsx', path.join(tree, 'bench/serve.ts'), role],
      };
      const background = options.backgroundPriority && benchRoleRunsInBackground(role);
      const line = background ? atBackgroundPriority(serve.command, serve.args) : serve;
      const { pid, stop } = await startChild(line, {
        name: role,
        cwd: tree,
        env: childEnv,
        logFile: path.join(dir, `${role}.log`),
        ready: `BENCH_READY ${role}`,
        onSpawn: (child, exited) => {
          children.add(child);
          void exited.then(() => children.delete(child));
        },
      });
      cleanups.push(stop);
      const port = extra.API_PORT ?? (role === 'sandbox' ? env.SIMULATOR_PORT : env.API_PORT);
      return { role, pid, url: `http://localhost:${port}`, stop };
    };

    return {
      dir,
      temporalAddress: temporal.address,
      temporalVersion: temporal.version,
      database,
      databaseName,
      apiKey,
      taskQueue,
      env,
      start,
      temporalDiskBytes: () => temporal.diskBytes(),
      databaseBytes: () => databasesSize(databaseServerUrl(), [databaseName]),
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/**
 * Paycenter's processes on a stack: the sandbox, then `processes` workers and as many APIs, the
 * first on the stack's API port and the others on free ports.
 */
export async function startPaycenter(stack: Stack, processes: number) {
  const sandbox = await stack.start('sandbox');
  const workers: Child[] = [];
  for (let i = 0; i < processes; i++) workers.push(await stack.start('worker'));
  const apis = [await stack.start('api')];
  while (apis.length < processes) {
    apis.push(await stack.start('api', { API_PORT: String(await freePort()) }));
  }
  return { sandbox, workers, apis };
}

/** The PostgreSQL server the bench makes its databases on. */
function databaseServerUrl(): string {
  return process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
}

/**
 * A database of its own, migrated (this tree's migrations unless `migrationsFolder` names
 * another's), with the bench merchant (its key `apiKey`, its secrets sealed with `secretKey`);
 * `drop` closes and drops it.
 */
export async function throwawayDatabase(
  name: string,
  apiKey: string,
  secretKey: Buffer,
  migrationsFolder?: string,
) {
  const serverUrl = databaseServerUrl();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  await ensureDatabaseExists(url.toString());
  const dropDatabase = async () => {
    const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
    await admin.unsafe(`drop database if exists "${name}" with (force)`);
    await admin.end();
  };
  try {
    const database = await openPostgres(url.toString(), 4);
    try {
      await database.migrate(migrationsFolder);
      await ensureMerchant(
        database.db,
        { id: demoMerchantId, name: 'Bench merchant' },
        apiKey,
        createSecretBox(secretKey),
      );
    } catch (err) {
      await database.close();
      throw err;
    }
    return {
      url: url.toString(),
      database,
      drop: async () => {
        await database.close();
        await dropDatabase();
      },
    };
  } catch (err) {
    await dropDatabase();
    throw err;
  }
}

/** The dev server `npm start` runs: its own SQLite file (or memory), WAL by default. */
async function startDevServer(
  dir: string,
  options: { temporalInMemory: boolean; temporalPragmas: string[]; backgroundPriority: boolean },
) {
  const temporalCli = temporalCliPath();
  if (options.backgroundPriority && !temporalCli) {
    throw new Error(
      'the bench runs Temporal below the API only with a Temporal CLI on disk ' +
        '(bash scripts/temporal-cli.sh, or TEMPORAL_CLI); --equal-priority runs the SDK download',
    );
  }
  // The SDK starts the CLI itself: at the background priority through a script that runs it so.
  const started =
    temporalCli && options.backgroundPriority ? backgroundScript(dir, temporalCli) : temporalCli;
  // A file for each try: a start that timed out may have left its server holding the last one.
  let temporalFile = '';
  const temporal = await onFreePort((port) => {
    temporalFile = path.join(dir, `temporal-${port}.sqlite`);
    return startTemporalDevServer({
      cliPath: started,
      port,
      namespace: 'default',
      logLevel: 'error',
      sqlitePragmas: options.temporalPragmas,
      ...(options.temporalInMemory ? {} : { dbFilename: temporalFile }),
    });
  });
  return {
    address: temporal.address,
    version: temporalCli
      ? execFileSync(temporalCli, ['--version'], { encoding: 'utf8' }).trim()
      : 'SDK download',
    diskBytes: async () =>
      ['', '-wal', '-shm'].reduce((sum, suffix) => sum + fileSize(temporalFile + suffix), 0),
    stop: () => temporal.stop(),
  };
}

/** The bench's children below the API, as `npm run cluster` runs its parts (the sandbox is the simulator). */
export function benchRoleRunsInBackground(role: Role): boolean {
  return role !== 'api' && role !== 'bare-route';
}

/** A script in `dir` that runs `executable` with its arguments at the background priority. */
export function backgroundScript(dir: string, executable: string): string {
  const { command, args } = atBackgroundPriority(executable, []);
  const quoted = [command, ...args].map((word) => `'${word.replaceAll("'", `'\\''`)}'`);
  const script = path.join(dir, `${path.basename(executable)}-background.sh`);
  writeFileSync(script, `#!/bin/sh\nexec ${quoted.join(' ')} "$@"\n`, { mode: 0o755 });
  return script;
}

function fileSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/** Resident and peak resident memory of a process, from /proc (Linux), in bytes. */
export function processMemory(pid: number): { rss: number; peakRss: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) =>
    Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) * 1024;
  return { rss: kb('VmRSS'), peakRss: kb('VmHWM') };
}

/** CPU seconds a process has used so far (user and system), from /proc (Linux). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may hold spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return ticks / 100;
}
