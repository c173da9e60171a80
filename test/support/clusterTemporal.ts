// The cluster test run's Temporal (TEST_TEMPORAL=cluster): the real server, as `npm run cluster`
// runs it, on two databases of the run's own and ports free on this machine, so that a run never
// meets another run or a cluster left running; its log goes to test-output/.
import { execFileSync } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import {
  dropTemporalDatabases,
  setUpTemporalDatabases,
  startTemporalServer,
  temporalServerBinaries,
  type TemporalServerPorts,
} from '../../src/dev/temporalServer';
import { databasesSize } from '../../src/db/client';
import { freePort } from './ports';

const root = path.resolve(__dirname, '../..');

/**
 * A port free on 127.0.0.1 below 32768: Temporal keeps each service's membership port in a
 * SMALLINT column, and the ports the system hands out (32768 and up) do not fit.
 */
async function freeSmallPort(taken: Set<number>): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (taken.has(port)) continue;
    const free = await new Promise<boolean>((resolve) => {
      const server = net.createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (free) return port;
  }
}

async function freeServerPorts(): Promise<TemporalServerPorts> {
  const taken = new Set<number>();
  // Each asked for while the others are unused again: the same one may come back.
  const next = async (pick: (taken: Set<number>) => Promise<number>) => {
    let port = await pick(taken);
    while (taken.has(port)) port = await pick(taken);
    taken.add(port);
    return port;
  };
  const grpc = () => freePort();
  return {
    frontend: await next(grpc),
    frontendHttp: await next(grpc),
    history: await next(grpc),
    matching: await next(grpc),
    worker: await next(grpc),
    frontendMembership: await next(freeSmallPort),
    historyMembership: await next(freeSmallPort),
    matchingMembership: await next(freeSmallPort),
    workerMembership: await next(freeSmallPort),
  };
}

/** `postgresServerUrl`: the run's PostgreSQL; `suffix` names the run's databases. */
export async function startClusterTemporal(
  postgresServerUrl: string,
  suffix: string,
  /** The bench's: the server below the API's CPU priority (src/cpuPriority.ts); tests: equal. */
  { background = false }: { background?: boolean } = {},
) {
  const server = new URL(postgresServerUrl);
  server.pathname = '';
  const databases = {
    serverUrl: server.toString().replace(/\/$/, ''),
    main: `temporal_${suffix}`,
    visibility: `temporal_visibility_${suffix}`,
  };
  const logFile = path.join(root, 'test-output', `temporal-server-${suffix}.log`);
  mkdirSync(path.dirname(logFile), { recursive: true });
  const log = createWriteStream(logFile);
  const started = Date.now();
  const binaries = await temporalServerBinaries();
  try {
    await setUpTemporalDatabases(binaries, databases);
    const temporal = await startTemporalServer({
      binaries,
      databases,
      ports: await freeServerPorts(),
      namespace: 'default',
      logLevel: 'info',
      output: (line) => log.write(`${line}\n`),
      background,
    });
    console.log(
      `test run: Temporal server up in ${((Date.now() - started) / 1000).toFixed(1)} s ` +
        `(databases ${databases.main}, ${databases.visibility}; log ${path.relative(root, logFile)})`,
    );
    return {
      address: temporal.address,
      version: execFileSync(binaries.server, ['--version'], { encoding: 'utf8' }).trim(),
      /** What the server keeps on disk: its two databases. */
      diskBytes: () => databasesSize(databases.serverUrl, [databases.main, databases.visibility]),
      async stop() {
        await temporal.stop();
        await dropTemporalDatabases(databases);
        log.end();
      },
    };
  } catch (err) {
    await dropTemporalDatabases(databases);
    log.end();
    throw err;
  }
}
