// The deployment under test, one OS process per part as production runs it: PostgreSQL (its own
// cluster, made with initdb), a Temporal dev server on a SQLite file, the sandbox channel, two
// workers and two API processes (src/main.ts commands). Each part can be killed, paused and
// restarted; like a supervisor (docker's `restart: unless-stopped`), the cluster restarts a part
// that dies on its own and counts it. Everything runs in process groups that are killed on exit.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  appendFileSync,
  chmodSync,
  chownSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  type WriteStream,
} from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { ensureDatabaseExists, isPortOpen } from '../src/db/client';
import { cliSearchAttributeType } from '../src/dev/temporal';
import { searchAttributes } from '../src/workflows/contracts/payment';
import { freePort } from '../test/support/ports';

const root = path.resolve(__dirname, '..');
/** PostgreSQL's server tools: PG_BIN, else Debian's newest installed version. */
const postgresBin = process.env.PG_BIN ?? debianPostgresBin();

function debianPostgresBin(): string {
  const versions = existsSync('/usr/lib/postgresql') ? readdirSync('/usr/lib/postgresql') : [];
  const newest = versions.filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a))[0];
  return path.join('/usr/lib/postgresql', newest ?? '15', 'bin');
}

export type PartKind = 'postgres' | 'temporal' | 'sandbox' | 'worker' | 'api';

export interface Part {
  name: string;
  kind: PartKind;
  /** The API's or sandbox's base URL. */
  url?: string;
  /** Whether the harness holds it down (killed, paused): a supervisor restart must wait. */
  up: boolean;
  /** Times it died without the harness killing it (a crash of its own). */
  crashes: number;
  kill(): Promise<void>;
  start(): Promise<void>;
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
}

export interface Cluster {
  dir: string;
  databaseUrl: string;
  temporalAddress: string;
  sandboxUrl: string;
  apiUrls: string[];
  parts: Part[];
  /** Env every paycenter process gets (the one-off commands too). */
  env: Record<string, string>;
  /** Runs a one-off src/main.ts command (migrate, merchant create, ops-key create); its output. */
  command(args: string[]): Promise<string>;
  stop(): Promise<void>;
}

/** Every process group we started, killed outright if the harness exits any other way. */
const groups = new Set<number>();
const postgresDirs = new Set<string>();
let exitHookInstalled = false;

function installExitHook() {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const pgid of groups) signalGroup(pgid, 'SIGKILL');
    for (const dir of postgresDirs) stopPostgresNow(dir);
  });
}

function signalGroup(pgid: number, signal: NodeJS.Signals) {
  try {
    process.kill(-pgid, signal);
  } catch {
    // already gone
  }
}

/**
 * PostgreSQL refuses to run as root: there, its tools run as the `postgres` user, which owns the
 * cluster's folder.
 */
function postgresUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }));
  return { uid: id('-u'), gid: id('-g') };
}

function postgresTool(tool: string, args: string[]) {
  execFileSync(path.join(postgresBin, tool), args, { stdio: 'ignore', ...postgresUser() });
}

function stopPostgresNow(dataDir: string) {
  try {
    postgresTool('pg_ctl', ['-D', dataDir, 'stop', '-m', 'immediate']);
  } catch {
    // not running
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`${what} did not come up within ${timeoutMs} ms`);
    await sleep(200);
  }
}

async function healthy(url: string): Promise<boolean> {
  const answer = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) });
  return answer.ok;
}

interface ProcessSpec {
  name: string;
  kind: PartKind;
  command: string;
  args: string[];
  env: Record<string, string>;
  log: WriteStream;
  /** Resolves once the process serves. */
  ready(child: ChildProcess): Promise<void>;
  url?: string;
}

/**
 * A part that is one process group: SIGKILL and SIGSTOP reach the whole group. An exit the
 * harness did not cause is a crash: counted, and restarted after a second, as a supervisor does.
 */
function processPart(spec: ProcessSpec, onCrash: (part: Part, code: string) => void): Part {
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let expectExit = false;
  let stopped = false;
  let serving = false;
  const part: Part = {
    name: spec.name,
    kind: spec.kind,
    url: spec.url,
    up: false,
    crashes: 0,
    async start() {
      expectExit = false;
      const started = spawn(spec.command, spec.args, {
        cwd: root,
        env: { ...process.env, ...spec.env },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true, // its own process group
      });
      child = started;
      groups.add(started.pid!);
      started.stdout.pipe(spec.log, { end: false });
      started.stderr.pipe(spec.log, { end: false });
      exited = new Promise<void>((resolve) =>
        started.once('exit', (code, signal) => {
          groups.delete(started.pid!);
          const wasServing = serving;
          serving = false;
          part.up = false;
          resolve();
          // One that dies while starting is the starter's to retry; one that served crashed.
          if (wasServing && !expectExit && !stopped) {
            part.crashes += 1;
            onCrash(part, signal ?? `exit ${code}`);
          }
        }),
      );
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        spec.ready(started),
        exited.then(() => {
          throw new Error(`${spec.name} exited while starting; see ${String(spec.log.path)}`);
        }),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`${spec.name} not ready in 90 s`)), 90_000);
        }),
      ]).finally(() => clearTimeout(timer));
      serving = true;
      part.up = true;
    },
    async kill() {
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      expectExit = true;
      signalGroup(child.pid!, 'SIGKILL');
      signalGroup(child.pid!, 'SIGCONT');
      await exited;
    },
    pause() {
      if (child?.pid) signalGroup(child.pid, 'SIGSTOP');
      part.up = false;
    },
    resume() {
      if (child?.pid) signalGroup(child.pid, 'SIGCONT');
      part.up = true;
    },
    async stop() {
      stopped = true;
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      expectExit = true;
      signalGroup(child.pid!, 'SIGCONT');
      signalGroup(child.pid!, 'SIGTERM');
      const timer = setTimeout(() => signalGroup(child!.pid!, 'SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
  return part;
}

/** Waits for a line on the child's stdout. */
function printed(text: string) {
  return (child: ChildProcess) =>
    new Promise<void>((resolve) => {
      let seen = '';
      const onData = (chunk: Buffer) => {
        seen = (seen + chunk.toString('utf8')).slice(-10_000);
        if (seen.includes(text)) {
          child.stdout!.off('data', onData);
          resolve();
        }
      };
      child.stdout!.on('data', onData);
    });
}

/** PostgreSQL as a part: killed with `pg_ctl stop -m immediate` (a crash), started with pg_ctl. */
function postgresPart(dataDir: string, logFile: string): Part {
  const pgCtl = (args: string[]) => postgresTool('pg_ctl', ['-D', dataDir, ...args]);
  const part: Part = {
    name: 'postgres',
    kind: 'postgres',
    up: false,
    crashes: 0,
    async start() {
      pgCtl(['-l', logFile, '-w', '-t', '60', 'start']);
      part.up = true;
      postgresDirs.add(dataDir);
    },
    async kill() {
      pgCtl(['stop', '-m', 'immediate', '-w']);
      part.up = false;
    },
    pause() {
      throw new Error('postgres is not paused');
    },
    resume() {},
    async stop() {
      try {
        pgCtl(['stop', '-m', 'fast', '-w']);
      } catch {
        // not running
      }
      postgresDirs.delete(dataDir);
      part.up = false;
    },
  };
  return part;
}

function initPostgres(dataDir: string, port: number) {
  mkdirSync(dataDir, { mode: 0o700 });
  const owner = postgresUser();
  if (owner) chownSync(dataDir, owner.uid, owner.gid);
  postgresTool('initdb', [
    '-D',
    dataDir,
    '-U',
    'postgres',
    '--auth=trust',
    '--no-sync',
    '-E',
    'UTF8',
  ]);
  // Its own port and socket folder; fsync off since only the process dies, never the machine.
  const settings = [
    `port = ${port}`,
    `listen_addresses = '127.0.0.1'`,
    `unix_socket_directories = '${dataDir}'`,
    'fsync = off',
    'max_connections = 200',
    'shared_buffers = 64MB',
  ];
  appendFileSync(path.join(dataDir, 'postgresql.conf'), settings.join('\n') + '\n');
}

export interface ClusterOptions {
  dir: string;
  /** Configuration of every paycenter process (short schedules). */
  paycenterEnv: Record<string, string>;
  temporalCli: string;
  onCrash: (part: Part, how: string) => void;
  log: (line: string) => void;
}

export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  installExitHook();
  const { dir } = options;
  const logs = path.join(dir, 'logs');
  mkdirSync(logs, { recursive: true });
  const logOf = (name: string) => createWriteStream(path.join(logs, `${name}.log`), { flags: 'a' });
  const parts: Part[] = [];
  const stopAll = async () => {
    for (const part of [...parts].reverse()) {
      await part.stop().catch((err) => options.log(`stopping ${part.name}: ${err}`));
    }
  };
  try {
    const pgPort = await freePort();
    // The postgres user must reach its folder (and its log) through the run's folder.
    chmodSync(dir, 0o755);
    const pgDir = path.join(dir, 'postgres');
    initPostgres(pgDir, pgPort);
    const postgres = postgresPart(pgDir, path.join(pgDir, 'postgres.log'));
    parts.push(postgres);
    await postgres.start();
    const databaseUrl = `postgres://postgres@127.0.0.1:${pgPort}/paycenter`;
    await ensureDatabaseExists(databaseUrl);
    options.log(`postgres on ${pgPort} (${pgDir})`);

    const temporalPort = await freePort();
    const temporalAddress = `127.0.0.1:${temporalPort}`;
    const temporalArgs = [
      'server',
      'start-dev',
      '--ip',
      '127.0.0.1',
      '--port',
      String(temporalPort),
      '--headless',
      '--db-filename',
      path.join(dir, 'temporal.sqlite'),
      '--log-level',
      'error',
      '--sqlite-pragma',
      'journal_mode=wal',
      '--sqlite-pragma',
      'synchronous=normal',
      '--dynamic-config-value',
      'frontend.enableExecuteMultiOperation=true',
      ...Object.values(searchAttributes).flatMap((key) => [
        '--search-attribute',
        `${key.name}=${cliSearchAttributeType[key.type]}`,
      ]),
    ];
    const temporal = processPart(
      {
        name: 'temporal',
        kind: 'temporal',
        command: options.temporalCli,
        args: temporalArgs,
        env: {},
        log: logOf('temporal'),
        ready: async () => {
          await waitFor('temporal', () => isPortOpen('127.0.0.1', temporalPort, 300), 60_000);
          await sleep(1000);
        },
      },
      options.onCrash,
    );
    parts.push(temporal);
    await temporal.start();
    options.log(`temporal on ${temporalAddress}`);

    const sandboxPort = await freePort();
    const apiPorts = [await freePort(), await freePort()];
    const sandboxUrl = `http://127.0.0.1:${sandboxPort}`;
    const apiUrls = apiPorts.map((port) => `http://127.0.0.1:${port}`);
    const env: Record<string, string> = {
      ...options.paycenterEnv,
      DATA_DIR: path.join(dir, 'data'),
      DATABASE_URL: databaseUrl,
      TEMPORAL_ADDRESS: temporalAddress,
      TEMPORAL_CLI: options.temporalCli,
      SIMULATOR_PORT: String(sandboxPort),
      SIMULATOR_URL: sandboxUrl,
      // Seals notify secrets: every process must hold the same one.
      PAYCENTER_SECRET_KEY: randomBytes(32).toString('hex'),
    };
    const main = ['--import', 'tsx', path.join(root, 'src/main.ts')];
    const command = async (args: string[]) => {
      const { stdout } = await promisify(execFile)(process.execPath, [...main, ...args], {
        cwd: root,
        env: { ...process.env, ...env },
        encoding: 'utf8',
      });
      return stdout;
    };
    // Once, as docker-compose does: the schema and the channel key pairs every process shares.
    await command(['migrate']);

    const paycenter = (
      name: string,
      kind: 'sandbox' | 'worker' | 'api',
      extra: Record<string, string>,
      url?: string,
    ) =>
      processPart(
        {
          name,
          kind,
          command: process.execPath,
          args: [...main, kind],
          env: { ...env, ...extra },
          log: logOf(name),
          url,
          ready:
            kind === 'worker'
              ? printed('paycenter (worker, ')
              : () => waitFor(name, () => healthy(url!), 60_000),
        },
        options.onCrash,
      );
    const sandbox = paycenter('sandbox', 'sandbox', {}, sandboxUrl);
    const apis = apiPorts.map((port, i) =>
      paycenter(
        `api-${i + 1}`,
        'api',
        { API_PORT: String(port), PUBLIC_API_URL: apiUrls[i]! },
        apiUrls[i],
      ),
    );
    // No proxy in front: each worker names one API process as the channels' notify URL.
    const workers = apiUrls.map((url, i) =>
      paycenter(`worker-${i + 1}`, 'worker', {
        API_PORT: String(apiPorts[i]),
        PUBLIC_API_URL: url,
      }),
    );
    parts.push(sandbox, ...workers, ...apis);
    await Promise.all([sandbox, ...workers, ...apis].map((part) => part.start()));
    options.log(`sandbox ${sandboxUrl}, APIs ${apiUrls.join(' ')}, 2 workers`);
    return {
      dir,
      databaseUrl,
      temporalAddress,
      sandboxUrl,
      apiUrls,
      parts,
      env,
      command,
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** The tail of a part's log, for an error message. */
export function logTail(dir: string, name: string, chars = 2000): string {
  const file = path.join(dir, 'logs', `${name}.log`);
  return existsSync(file) ? readFileSync(file, 'utf8').slice(-chars) : '';
}

/**
 * Starts a part again, retrying while what it needs is still down (a worker cannot start without
 * Temporal or PostgreSQL), as a supervisor would; gives up only when `giveUp` says so.
 */
export async function restart(part: Part, giveUp: () => boolean, log: (line: string) => void) {
  for (let tries = 1; !giveUp(); tries++) {
    try {
      await part.start();
      return;
    } catch (err) {
      if (tries % 5 === 1) log(`${part.name} not up yet (try ${tries}): ${(err as Error).message}`);
      await part.kill().catch(() => {});
      await sleep(Math.min(1000 * tries, 5000));
    }
  }
}
