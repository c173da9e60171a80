// Brings up a Temporal dev server for `npm start` and the tests, from the CLI that
// scripts/temporal-cli.sh provides, or (on a machine with internet and no Go) the SDK's download.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { searchAttributes } from '../workflows/contracts/payment';

export interface DevServerOptions {
  cliPath?: string;
  port: number;
  /** Omit for a headless server. */
  uiPort?: number;
  /** SQLite file that keeps workflows across restarts; omit for an in-memory server. */
  dbFilename?: string;
  namespace: string;
  /** The server's own log level (the SDK's default when omitted); the bench keeps it to errors. */
  logLevel?: string;
  /** SQLite pragmas for the file, e.g. `journal_mode=wal` (the bench compares them). */
  sqlitePragmas?: string[];
}

/**
 * Write-ahead logging for the dev server's SQLite file: the default rollback journal makes
 * Temporal itself the bottleneck (the benchmark measured about 3x the throughput with these).
 */
export const walPragmas = ['journal_mode=wal', 'synchronous=normal'];

/** The dynamic config paycenter's Temporal servers run with (docker-compose, `npm run cluster`). */
const dynamicConfigFile = path.resolve(
  __dirname,
  '../../deploy/temporal/dynamicconfig/paycenter.yaml',
);

/** The same settings as the dev server's flags: every key's value without constraints. */
export async function dynamicConfigFlags(file = dynamicConfigFile): Promise<string[]> {
  // A development dependency, like the dev server: never loaded by a production command.
  const { parse } = await import('yaml');
  const settings = parse(readFileSync(file, 'utf8')) as Record<
    string,
    { value: unknown; constraints?: Record<string, unknown> }[]
  >;
  return Object.entries(settings).flatMap(([key, values]) => {
    const unconstrained = values.find((v) => Object.keys(v.constraints ?? {}).length === 0);
    if (!unconstrained) throw new Error(`${file}: ${key} has no value for every namespace`);
    return ['--dynamic-config-value', `${key}=${JSON.stringify(unconstrained.value)}`];
  });
}

export interface DevServer {
  address: string;
  stop(): Promise<void>;
}

export async function startTemporalDevServer(options: DevServerOptions): Promise<DevServer> {
  // A development dependency: loaded only when a dev server is started, never in production.
  const { TestWorkflowEnvironment } = await import('@temporalio/testing');
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: options.cliPath
        ? { type: 'existing-path', path: options.cliPath }
        : { type: 'cached-download' },
      ip: '127.0.0.1',
      port: options.port,
      namespace: options.namespace,
      ...(options.uiPort ? { ui: true, uiPort: options.uiPort } : { ui: false }),
      ...(options.dbFilename ? { dbFilename: options.dbFilename } : {}),
      ...(options.logLevel ? { log: { format: 'pretty', level: options.logLevel } } : {}),
      searchAttributes: Object.values(searchAttributes),
      extraArgs: [
        ...(await dynamicConfigFlags()),
        ...(options.sqlitePragmas ?? []).flatMap((pragma) => ['--sqlite-pragma', pragma]),
      ],
    },
  });
  return { address: `127.0.0.1:${options.port}`, stop: () => env.teardown() };
}

/** Each search attribute type paycenter uses, as the Temporal CLI names it (`--search-attribute`). */
export const cliSearchAttributeType = {
  KEYWORD: 'Keyword',
  KEYWORD_LIST: 'KeywordList',
  BOOL: 'Bool',
  INT: 'Int',
  DATETIME: 'Datetime',
} as const satisfies Record<
  (typeof searchAttributes)[keyof typeof searchAttributes]['type'],
  string
>;

/** Registers the search attributes paycenter needs on a cluster that lacks them. Safe to repeat. */
export async function ensureSearchAttributes(
  connection: Pick<Connection, 'operatorService'>,
  namespace: string,
) {
  const { customAttributes } = await connection.operatorService.listSearchAttributes({
    namespace,
  });
  const existing = new Set(Object.keys(customAttributes ?? {}));
  const missing = Object.values(searchAttributes).filter((key) => !existing.has(key.name));
  if (missing.length === 0) return;
  // temporal.api.enums.v1.IndexedValueType
  const indexedType = { KEYWORD: 2, INT: 3, BOOL: 5, DATETIME: 6, KEYWORD_LIST: 7 } as const;
  await connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(missing.map((key) => [key.name, indexedType[key.type]])),
  });
}
