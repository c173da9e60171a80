// `cluster` (`npm run cluster`): production's shape on this machine, one process per part: the real
// Temporal server (not the dev server) on the local PostgreSQL, the channel simulator, two workers
// and two API processes, both answering with no proxy in front. The ports are fixed (README,
// "Production-shaped cluster"); Ctrl-C stops every part, the APIs first and Temporal last, and a
// part that dies on its own stops the others. Test mode only (it runs the simulator).
import path from 'node:path';
import type { Logger } from 'pino';
import { ConfigError, type Config } from '../config';
import { ensureDatabaseExists, isPortOpen, openPostgres } from '../db/client';
import { runsInBackground } from '../cpuPriority';
import { spawnGroup, type GroupedProcess } from '../dev/processGroup';
import { withWorkerHeap } from '../system';
import {
  portsAround,
  setUpTemporalDatabases,
  startTemporalServer,
  temporalServerBinaries,
  type TemporalDatabases,
} from '../dev/temporalServer';
import { demoChannelKeys } from '../keyStore';
import { migrateDatabase } from './migrate';
import { refuseInLiveMode, runProcesses, type Processes } from './processes';

/** paycenter's own database when DATABASE_URL is unset: not `npm start`'s, whose workflows live in
 * its dev server. */
const clusterDatabase = 'paycenter_cluster';
const localPostgres = 'postgres://postgres@127.0.0.1:5432';

export async function clusterCommand(configured: Config, log: Logger): Promise<void> {
  refuseInLiveMode('cluster', configured);
  await runProcesses(configured, log, async (processes) => {
    const { config, keep } = processes;
    const postgresServer = await postgresServerOf(config);
    const databaseUrl = config.DATABASE_URL ?? `${postgresServer}/${clusterDatabase}`;
    const stopping = { now: false };
    const watch = (name: string, part: GroupedProcess) => {
      keep({
        stop: () => {
          stopping.now = true;
          return part.stop();
        },
      });
      void part.exited.then(async (code) => {
        if (stopping.now) return;
        log.error(`${name} exited on its own (${code}): stopping the cluster`);
        await processes.stopAll();
        process.exit(1);
      });
    };

    const binaries = await temporalServerBinaries();
    const temporalDatabases: TemporalDatabases = {
      serverUrl: postgresServer,
      main: 'temporal',
      visibility: 'temporal_visibility',
    };
    await setUpTemporalDatabases(binaries, temporalDatabases);
    const temporal = await startTemporalServer({
      binaries,
      databases: temporalDatabases,
      ports: portsAround(config.TEMPORAL_PORT),
      namespace: config.TEMPORAL_NAMESPACE,
      logLevel: 'warn',
      output: prefixed('temporal'),
      background: true,
    });
    watch('temporal', temporal.process);

    // Once, before any part starts: the schema, and the channel key pairs every part shares.
    await ensureDatabaseExists(databaseUrl);
    const db = await openPostgres(databaseUrl, 1);
    await migrateDatabase(db, config, log);
    await db.close();
    demoChannelKeys(config);

    const apiPorts = [config.API_PORT, config.API_PORT + 1];
    const apiUrls = apiPorts.map((port) => `http://localhost:${port}`);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DATA_DIR: path.resolve(config.DATA_DIR),
      DATABASE_URL: databaseUrl,
      TEMPORAL_ADDRESS: temporal.address,
      SIMULATOR_PORT: String(config.SIMULATOR_PORT),
      SIMULATOR_URL: config.simulatorUrl,
    };
    const parts = [
      part('simulator', 'simulator', env, healthy(config.simulatorUrl)),
      // No proxy in front: each worker gives the channels one API process's notify URL.
      ...apiUrls.map((url, i) =>
        part(
          `worker-${i + 1}`,
          'worker',
          withWorkerHeap(servingAt(env, apiPorts[i]!, url)),
          printed('paycenter (worker, '),
        ),
      ),
      ...apiUrls.map((url, i) =>
        part(`api-${i + 1}`, 'api', servingAt(env, apiPorts[i]!, url), healthy(url)),
      ),
    ];
    for (const { name, process: running } of parts) watch(name, running);
    await Promise.all(parts.map(({ ready }) => ready));
    announceCluster(processes, {
      temporalAddress: temporal.address,
      apiUrls,
      databaseUrl,
    });
  });
}

/** The PostgreSQL server Temporal and paycenter share: DATABASE_URL's, else the local one. */
async function postgresServerOf(config: Config): Promise<string> {
  if (config.DATABASE_URL) {
    const url = new URL(config.DATABASE_URL);
    url.pathname = '';
    return url.toString().replace(/\/$/, '');
  }
  if (!(await isPortOpen('127.0.0.1', 5432))) {
    throw new ConfigError(
      'the cluster runs Temporal on PostgreSQL: start it on 127.0.0.1:5432 or set DATABASE_URL',
    );
  }
  return localPostgres;
}

function servingAt(env: NodeJS.ProcessEnv, port: number, url: string): NodeJS.ProcessEnv {
  return { ...env, API_PORT: String(port), PUBLIC_API_URL: url };
}

interface Part {
  name: string;
  process: GroupedProcess;
  /** Resolves once the part serves; rejects when it exits first or takes too long. */
  ready: Promise<void>;
}

type Readiness = (name: string, lines: { seen: (text: string) => Promise<void> }) => Promise<void>;

/** A src/main.ts command in a process of its own, started as this one was (tsx or compiled). */
function part(
  name: string,
  command: 'simulator' | 'worker' | 'api',
  env: NodeJS.ProcessEnv,
  readiness: Readiness,
): Part {
  const waiting: { text: string; resolve: () => void }[] = [];
  const show = prefixed(name);
  const running = spawnGroup(process.execPath, [...process.execArgv, process.argv[1]!, command], {
    env,
    background: runsInBackground(command),
    output: (line) => {
      show(line);
      for (const wait of waiting.filter((w) => line.includes(w.text))) {
        waiting.splice(waiting.indexOf(wait), 1);
        wait.resolve();
      }
    },
  });
  const seen = (text: string) => new Promise<void>((resolve) => waiting.push({ text, resolve }));
  const ready = Promise.race([
    readiness(name, { seen }),
    running.exited.then((code) => {
      throw new Error(`${name} exited while starting (${code})`);
    }),
    new Promise<never>((_, reject) =>
      setTimeout(
        () => reject(new Error(`${name} did not start within 3 minutes`)),
        180_000,
      ).unref(),
    ),
  ]);
  return { name, process: running, ready };
}

function printed(text: string): Readiness {
  return (_name, lines) => lines.seen(text);
}

function healthy(url: string): Readiness {
  return async () => {
    for (;;) {
      const answer = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) }).catch(
        () => undefined,
      );
      if (answer?.ok) return;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  };
}

/** Each line of a part's output, marked with its name. */
function prefixed(name: string): (line: string) => void {
  const mark = `${name.padEnd(10)}| `;
  return (line) => process.stdout.write(`${mark}${line}\n`);
}

function announceCluster(
  { config, demoApiKey, opsApiKey }: Processes,
  at: { temporalAddress: string; apiUrls: string[]; databaseUrl: string },
): void {
  const database = new URL(at.databaseUrl);
  database.password = '';
  const lines = [
    `paycenter cluster (${config.PAYCENTER_MODE} mode) is up, one process per part:`,
    `  Temporal server  ${at.temporalAddress}   (databases temporal, temporal_visibility)`,
    ...at.apiUrls.map((url, i) => `  API ${i + 1}            ${url}   (GET /healthz)`),
    `  Workers          2, each giving the channels one API's notify URL`,
    `  Simulator        ${config.simulatorUrl}`,
    `  Database         ${database.toString()}`,
    demoApiKey && `  Demo merchant API key: ${demoApiKey}`,
    opsApiKey && `  Ops API key:           ${opsApiKey}`,
    'Ctrl-C stops every part.',
  ];
  console.log(lines.filter(Boolean).join('\n'));
}
