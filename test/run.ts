// Test runner: one in-memory Temporal dev server and one fresh PostgreSQL database for the whole
// run, then node's test runner over every *.test.ts file (or the files given as arguments).
// TEST_TEMPORAL=cluster (`npm run test:cluster`): the real Temporal server instead, on databases
// of the run's own (dropped after it), and by default the end-to-end tests only; `--marked`: only
// the end-to-end files marked `// @cluster` (CI's cluster run: together they cover every anomaly).
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import postgres from 'postgres';
import { ensureDatabaseExists, openPostgres } from '../src/db/client';
import { startTemporalDevServer } from '../src/dev/temporal';
import { startClusterTemporal } from './support/clusterTemporal';
import { onFreePort } from './support/ports';
import { testRunnerArgs } from './support/testRunner';

const root = path.resolve(__dirname, '..');

const clusterMode = process.env.TEST_TEMPORAL === 'cluster';

/** The line that marks an end-to-end file for CI's cluster run. */
const clusterMark = /^\/\/ @cluster\b/m;

function testFiles(args: string[]): string[] {
  const marked = args.includes('--marked');
  const named = args.filter((arg) => arg !== '--marked');
  if (named.length > 0) return named;
  const folder = clusterMode || marked ? 'test/e2e' : 'test';
  return readdirSync(path.join(root, folder), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => path.join(folder, f))
    .filter((f) => !marked || clusterMark.test(readFileSync(path.join(root, f), 'utf8')))
    .sort();
}

async function main() {
  const serverUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const dbName = `paycenter_test_${process.pid}_${Date.now()}`;
  const dbUrl = new URL(serverUrl);
  dbUrl.pathname = `/${dbName}`;

  // Temporal first: a Temporal that does not start leaves no database behind.
  const temporal = clusterMode
    ? await startClusterTemporal(serverUrl, `${process.pid}_${Date.now()}`)
    : await onFreePort((port) =>
        startTemporalDevServer({
          cliPath: process.env.TEMPORAL_CLI || undefined,
          port,
          namespace: 'default',
        }),
      );
  await ensureDatabaseExists(dbUrl.toString());
  const database = await openPostgres(dbUrl.toString(), 1);
  await database.migrate();
  await database.close();
  console.log(`test run: Temporal ${temporal.address}, database ${dbName}`);

  const files = testFiles(process.argv.slice(2));
  const child = spawn(
    process.execPath,
    [
      ...testRunnerArgs,
      // A test stuck on a lost answer fails with its name instead of holding the run up.
      `--test-timeout=${Number(process.env.TEST_TIMEOUT_SECONDS ?? 240) * 1000}`,
      ...files,
    ],
    {
      cwd: root,
      // Its output passes through a watch for the final summary (see below).
      stdio: ['inherit', 'pipe', 'inherit'],
      // Its own process group, so that whatever a test file leaves behind can be ended with it.
      detached: true,
      env: {
        ...process.env,
        TEST_TEMPORAL_ADDRESS: temporal.address,
        TEST_DATABASE_URL_FOR_RUN: dbUrl.toString(),
      },
    },
  );
  // Its own group does not hear the terminal's Ctrl-C: pass it on.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => endProcessGroup(child.pid));
  }
  const code = await runnerOutcome(child);
  // Whatever a test file left behind (a process that outlived its file) ends with the run.
  endProcessGroup(child.pid);

  await withDeadline(temporal.stop(), 45_000, 'stopping Temporal');
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop database if exists "${dbName}" with (force)`);
  await admin.end();
  process.exit(code);
}

/** Time the runner has to exit once it printed its summary. */
const exitGraceMs = 20_000;
/**
 * The whole run's limit: a process a test file left behind that holds the file's output open keeps
 * even the summary from coming (a full run takes about 12 minutes on 2 cores).
 */
const runDeadlineMs = Number(process.env.TEST_RUN_DEADLINE_MINUTES ?? 45) * 60_000;

/**
 * The runner's exit code. Node's runner waits for every file's process and for its output to
 * close, so a process a test file left behind (a worker still shutting down after its file timed
 * out, say) would hold the run forever after the summary: the summary decides then.
 */
function runnerOutcome(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    let tail = '';
    const counts: Record<string, number> = {};
    child.stdout!.on('data', (chunk: Buffer) => {
      process.stdout.write(chunk);
      tail += chunk.toString('utf8');
      const lines = tail.split('\n');
      tail = lines.pop()!;
      for (const line of lines) {
        const [, name, value] = /^ℹ (fail|cancelled|duration_ms) (\d+)/.exec(line) ?? [];
        if (name) counts[name] = Number(value);
        if (name === 'duration_ms') {
          setTimeout(() => {
            console.error(
              `test run: the runner did not exit ${exitGraceMs / 1000} s after its summary`,
            );
            resolve(counts.fail || counts.cancelled ? 1 : 0);
          }, exitGraceMs).unref();
        }
      }
    });
    setTimeout(() => {
      console.error(`test run: stopped after ${runDeadlineMs / 60_000} minutes`);
      resolve(1);
    }, runDeadlineMs).unref();
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

function endProcessGroup(pid: number | undefined) {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // the group is already empty
  }
}

/** Waits for `work`, but no longer than `ms`: a stop that hangs is reported, not waited on. */
async function withDeadline(work: Promise<void>, ms: number, what: string) {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      console.error(`test run: gave up ${what} after ${ms / 1000} s`);
      resolve();
    }, ms);
  });
  await Promise.race([work, late]);
  clearTimeout(timer);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
