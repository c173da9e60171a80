// One benchmarked process, started by bench/stack.ts as a child so its CPU and RSS are its own:
// paycenter's `sandbox`, `worker` or `api` (through src/system.ts, as in production), or the
// engine's ceiling: `bare-worker` (no-op workflow and activities) and `bare-route` (empty webhook).
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import path from 'node:path';
import Fastify from 'fastify';
import { NativeConnection, Worker } from '@temporalio/worker';
import { loadConfig, type Config } from '../src/config';
import { channelCredentials } from '../src/channels/credentials';
import { openConfiguredPostgres } from '../src/db/client';
import { loadOrCreateChannelKeys } from '../src/keyStore';
import { createLogger } from '../src/log';
import {
  createChannels,
  installTemporalRuntime,
  startApi,
  startSimulator,
  startWorker,
  runUntilStopped,
  workerTuning,
  type Stoppable,
} from '../src/system';
import { temporalConnectionOptions } from '../src/temporalConnection';
import { bareActivities } from './workflows/activities';

type Role = 'sandbox' | 'worker' | 'api' | 'bare-worker' | 'bare-route';

async function startBareWorker(config: Config, address: string): Promise<Stoppable> {
  const connection = await NativeConnection.connect(
    temporalConnectionOptions(address, config.temporalSecurity),
  );
  const worker = await Worker.create({
    connection,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    workflowsPath: require.resolve('./workflows'),
    activities: bareActivities,
    // The same worker options as paycenter's worker, so the comparison is of the work alone.
    ...workerTuning(config),
  });
  return runUntilStopped(worker, connection);
}

/** An empty webhook: what Fastify alone costs to receive a notification and answer it. */
async function startBareRoute(config: Config): Promise<Stoppable> {
  const app = Fastify();
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));
  app.post('/webhooks/:channel', async (_req, reply) => reply.type('text/plain').send('success'));
  // The API's own backlog, so both are measured behind the same accept queue.
  await app.listen({
    host: '127.0.0.1',
    port: config.API_PORT,
    backlog: config.API_LISTEN_BACKLOG,
  });
  return { stop: () => app.close() };
}

async function start(role: Role): Promise<Stoppable> {
  const config = loadConfig();
  const log = createLogger(config.LOG_LEVEL);
  const temporalAddress = process.env.TEMPORAL_ADDRESS ?? '';
  if (role === 'bare-worker') return startBareWorker(config, temporalAddress);
  if (role === 'bare-route') return startBareRoute(config);
  // Made once by the bench before any child starts, so all three share the same key pairs.
  const { keys } = loadOrCreateChannelKeys(config.DATA_DIR);
  if (role === 'sandbox') return startSimulator(config, log, keys);
  installTemporalRuntime(log);
  const db = await openConfiguredPostgres(config, config.DATABASE_URL!);
  const channels = createChannels(config, channelCredentials(config, keys));
  const part =
    role === 'worker'
      ? await startWorker(config, { db, channels, temporalAddress, log })
      : await startApi(config, {
          db,
          channels,
          temporalAddress,
          opsKey: process.env.PAYCENTER_OPS_API_KEY ?? '',
          log,
        });
  return {
    async stop() {
      await part.stop();
      await db.close();
    },
  };
}

/**
 * With BENCH_CPU_PROFILE=<folder>, a CPU profile of this process's main thread (not the worker's
 * workflow threads), written as <role>-<pid>.cpuprofile when it stops; Chrome DevTools opens it.
 * With BENCH_HEAP_PROFILE=<folder>, where the main thread allocated, sampled every 32 KiB and
 * counting what the collector has freed too (what makes the garbage, not what stays), written as
 * <role>-<pid>.heapprofile; `node --import tsx bench/allocations.ts <file>` sums it by function.
 */
async function profiled(role: Role, running: Stoppable): Promise<Stoppable> {
  const cpuFolder = process.env.BENCH_CPU_PROFILE;
  const heapFolder = process.env.BENCH_HEAP_PROFILE;
  if (!cpuFolder && !heapFolder) return running;
  const session = new Session();
  session.connect();
  const profiles: { folder: string; suffix: string; take: () => Promise<object> }[] = [];
  if (cpuFolder) {
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
    const take = async () => (await session.post('Profiler.stop')).profile;
    profiles.push({ folder: cpuFolder, suffix: 'cpuprofile', take });
  }
  if (heapFolder) {
    await session.post('HeapProfiler.enable');
    await session.post('HeapProfiler.startSampling', {
      samplingInterval: 32 * 1024,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
    const take = async () => (await session.post('HeapProfiler.stopSampling')).profile;
    profiles.push({ folder: heapFolder, suffix: 'heapprofile', take });
  }
  return {
    async stop() {
      // The process stops as it would unprofiled, whatever becomes of its profiles.
      try {
        for (const { folder, suffix, take } of profiles) {
          mkdirSync(folder, { recursive: true });
          const file = path.join(folder, `${role}-${process.pid}.${suffix}`);
          writeFileSync(file, JSON.stringify(await take()));
        }
      } catch (err) {
        console.error('a profile was not written', err);
      } finally {
        session.disconnect();
        await running.stop();
      }
    },
  };
}

async function main() {
  const role = process.argv[2] as Role;
  const running = await profiled(role, await start(role));
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    running.stop().then(
      () => process.exit(0),
      (err) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // The bench reads this line to know the process is up.
  process.stdout.write(`BENCH_READY ${role}\n`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
