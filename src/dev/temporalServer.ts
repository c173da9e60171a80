// The real Temporal server, not the CLI's dev server, for `npm run cluster` and the cluster test
// run: the binaries scripts/temporal-server.sh builds, its two databases on PostgreSQL set up by its
// SQL tool (safe to repeat), the server in a process group of its own with
// deploy/temporal/paycenter.yaml, then the namespace and paycenter's search attributes.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import postgres from 'postgres';
import { ensureDatabaseExists, isPortOpen } from '../db/client';
import { searchAttributes } from '../workflows/contracts/payment';
import { spawnGroup, type GroupedProcess } from './processGroup';
import { ensureSearchAttributes } from './temporal';

const root = path.resolve(__dirname, '../..');

export interface TemporalServerBinaries {
  server: string;
  sqlTool: string;
  /** The module's `schema/postgresql/v12` folder (`temporal/versioned`, `visibility/versioned`). */
  schemaDir: string;
}

/** A value of each search attribute type for a list query that names the attribute. */
const probeValue = {
  KEYWORD: "''",
  KEYWORD_LIST: "''",
  BOOL: 'false',
  INT: '0',
  DATETIME: "'2000-01-01T00:00:00Z'",
} as const;

/** Runs scripts/temporal-server.sh, which builds the binaries the first time (minutes). */
export async function temporalServerBinaries(): Promise<TemporalServerBinaries> {
  const script = path.join(root, 'scripts/temporal-server.sh');
  const printed = await new Promise<string>((resolve, reject) => {
    // Its progress (stderr) shows while it builds; its answer comes on stdout.
    const child = spawn('bash', [script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve(stdout) : reject(new Error(`${script} failed (exit code ${code})`)),
    );
  });
  const paths = new Map(
    printed
      .split('\n')
      .filter((line) => line.includes('='))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
  const named = (key: string) => {
    const value = paths.get(key);
    if (!value) throw new Error(`${script} did not print ${key}`);
    return value;
  };
  return {
    server: named('TEMPORAL_SERVER'),
    sqlTool: named('TEMPORAL_SQL_TOOL'),
    schemaDir: named('TEMPORAL_SCHEMA_DIR'),
  };
}

/** The server's ports, all on 127.0.0.1: the frontend's gRPC port is the one clients dial. */
export interface TemporalServerPorts {
  frontend: number;
  frontendHttp: number;
  history: number;
  matching: number;
  worker: number;
  frontendMembership: number;
  historyMembership: number;
  matchingMembership: number;
  workerMembership: number;
}

/** Temporal's usual layout around the frontend's port: 7233 gives 7234, 7235, 7239, 7243, 6933–6939. */
export function portsAround(frontend: number): TemporalServerPorts {
  return {
    frontend,
    frontendHttp: frontend + 10,
    history: frontend + 1,
    matching: frontend + 2,
    worker: frontend + 6,
    frontendMembership: frontend - 300,
    historyMembership: frontend - 299,
    matchingMembership: frontend - 298,
    workerMembership: frontend - 294,
  };
}

/** Where the server keeps its data: two databases on one PostgreSQL server. */
export interface TemporalDatabases {
  /** The PostgreSQL server with its credentials, e.g. `postgres://postgres@127.0.0.1:5432`. */
  serverUrl: string;
  /** Workflows, histories, task queues, namespaces. */
  main: string;
  /** What list queries read, custom search attributes included. */
  visibility: string;
}

function databaseUrl(databases: TemporalDatabases, name: string): string {
  const url = new URL(databases.serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * Makes both databases when missing and brings their schemas to the binaries' version with the SQL
 * tool: `setup-schema -v 0.0` (the version tables; skipped once a version is recorded), then
 * `update-schema` (only the versions not applied yet). Safe to repeat.
 */
export async function setUpTemporalDatabases(
  binaries: TemporalServerBinaries,
  databases: TemporalDatabases,
): Promise<void> {
  const server = new URL(databases.serverUrl);
  const credentials = [
    ['--endpoint', server.hostname],
    ['--port', server.port || '5432'],
    ['--user', decodeURIComponent(server.username) || 'postgres'],
    ...(server.password ? [['--password', decodeURIComponent(server.password)]] : []),
  ].flat();
  const schemas = [
    [databases.main, 'temporal'],
    [databases.visibility, 'visibility'],
  ] as const;
  for (const [database, schema] of schemas) {
    await ensureDatabaseExists(databaseUrl(databases, database));
    const tool = (command: string[]) =>
      runSqlTool(binaries.sqlTool, [
        '--plugin',
        'postgres12',
        ...credentials,
        '--database',
        database,
        ...command,
      ]);
    await tool(['setup-schema', '--version', '0.0']);
    await tool([
      'update-schema',
      '--schema-dir',
      path.join(binaries.schemaDir, schema, 'versioned'),
    ]);
  }
}

/** Runs the SQL tool; its output is shown only when it fails, as it logs every statement. */
function runSqlTool(sqlTool: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(sqlTool, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (chunk: Buffer) => (output = (output + chunk.toString('utf8')).slice(-20_000));
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`temporal-sql-tool ${args.join(' ')} failed:\n${output}`)),
    );
  });
}

/** Drops both databases, ending whatever connections still hold them. */
export async function dropTemporalDatabases(databases: TemporalDatabases): Promise<void> {
  const admin = postgres(databaseUrl(databases, 'postgres'), { max: 1, onnotice: () => {} });
  try {
    for (const name of [databases.main, databases.visibility]) {
      await admin.unsafe(`drop database if exists "${name.replace(/"/g, '""')}" with (force)`);
    }
  } finally {
    await admin.end();
  }
}

export interface TemporalServerOptions {
  binaries: TemporalServerBinaries;
  databases: TemporalDatabases;
  ports: TemporalServerPorts;
  namespace: string;
  /** The server's own log level (debug, info, warn, error). */
  logLevel: string;
  /** Each line the server logs. */
  output: (line: string) => void;
  /** Below the API's CPU priority (src/cpuPriority.ts), as `npm run cluster` runs it; off: equal. */
  background: boolean;
}

export interface TemporalServer {
  address: string;
  process: GroupedProcess;
  stop(): Promise<void>;
}

/** A week to look at a closed workflow's history; paycenter's books are in its own database. */
const retentionMs = 7 * 24 * 3600 * 1000;
/** How often every Temporal service rereads namespaces (Temporal's default). */
const namespaceRefreshMs = 2000;

/**
 * Starts the server on databases set up by setUpTemporalDatabases, and answers once the namespace
 * exists and paycenter's search attributes can be used in it.
 */
export async function startTemporalServer(options: TemporalServerOptions): Promise<TemporalServer> {
  const { ports, databases } = options;
  const server = new URL(databases.serverUrl);
  const serverProcess = spawnGroup(
    options.binaries.server,
    [
      '--root',
      root,
      '--config',
      'deploy/temporal',
      '--env',
      'paycenter',
      '--allow-no-auth',
      'start',
    ],
    {
      cwd: root,
      background: options.background,
      // Only what the config template reads, so that no TEMPORAL_* variable of ours steers it.
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        TEMPORAL_LOG_LEVEL: options.logLevel,
        TEMPORAL_SQL_HOST: server.hostname,
        TEMPORAL_SQL_PORT: server.port || '5432',
        TEMPORAL_SQL_USER: decodeURIComponent(server.username) || 'postgres',
        TEMPORAL_SQL_PASSWORD: decodeURIComponent(server.password),
        TEMPORAL_SQL_DATABASE: databases.main,
        TEMPORAL_SQL_VISIBILITY_DATABASE: databases.visibility,
        TEMPORAL_FRONTEND_PORT: String(ports.frontend),
        TEMPORAL_FRONTEND_HTTP_PORT: String(ports.frontendHttp),
        TEMPORAL_HISTORY_PORT: String(ports.history),
        TEMPORAL_MATCHING_PORT: String(ports.matching),
        TEMPORAL_WORKER_PORT: String(ports.worker),
        TEMPORAL_FRONTEND_MEMBERSHIP_PORT: String(ports.frontendMembership),
        TEMPORAL_HISTORY_MEMBERSHIP_PORT: String(ports.historyMembership),
        TEMPORAL_MATCHING_MEMBERSHIP_PORT: String(ports.matchingMembership),
        TEMPORAL_WORKER_MEMBERSHIP_PORT: String(ports.workerMembership),
      },
      output: options.output,
    },
  );
  const address = `127.0.0.1:${ports.frontend}`;
  const stop = () => serverProcess.stop(30_000);
  try {
    await Promise.race([
      prepareNamespace(address, options.namespace),
      serverProcess.exited.then((code) => {
        throw new Error(`the Temporal server exited while starting (${code})`);
      }),
    ]);
  } catch (err) {
    await stop();
    throw err;
  }
  return { address, process: serverProcess, stop };
}

/** Retries `attempt` every half second until it answers, for at most `ms`. */
async function eventually<T>(what: string, ms: number, attempt: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await attempt();
    } catch (err) {
      if (Date.now() > deadline) {
        throw new Error(`${what}: no success within ${ms / 1000} s`, { cause: err });
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

const alreadyExists = 6; // gRPC status ALREADY_EXISTS

/**
 * The namespace, made when missing, and paycenter's search attributes registered in it (SQL
 * visibility keeps them per namespace). Each service learns of both when it rereads namespaces, so
 * this waits until a list query by every attribute works at the frontend, then one more reading
 * for the history service, which checks the attributes workflows set.
 */
async function prepareNamespace(address: string, namespace: string): Promise<void> {
  const [host, port] = address.split(':');
  await eventually('the Temporal frontend', 120_000, async () => {
    if (!(await isPortOpen(host!, Number(port)))) throw new Error(`nothing answers on ${address}`);
  });
  const connection = await eventually('connecting to Temporal', 60_000, () =>
    Connection.connect({ address }),
  );
  try {
    const workflowService = connection.workflowService;
    await eventually('registering the namespace', 60_000, async () => {
      try {
        await workflowService.registerNamespace({
          namespace,
          workflowExecutionRetentionPeriod: msToTs(retentionMs),
        });
      } catch (err) {
        if ((err as { code?: number }).code !== alreadyExists) throw err;
      }
    });
    await eventually('the namespace to be served', 60_000, () =>
      workflowService.describeNamespace({ namespace }),
    );
    await eventually('registering search attributes', 60_000, () =>
      ensureSearchAttributes(connection, namespace),
    );
    const everyAttribute = Object.values(searchAttributes)
      .map((key) => `${key.name} = ${probeValue[key.type]}`)
      .join(' AND ');
    await eventually('search attributes to be queryable', 60_000, () =>
      workflowService.countWorkflowExecutions({ namespace, query: everyAttribute }),
    );
    await new Promise((resolve) => setTimeout(resolve, 2 * namespaceRefreshMs));
  } finally {
    await connection.close();
  }
}
