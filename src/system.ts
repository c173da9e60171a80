// Starts paycenter's processes (the channel simulator, worker, API) from one configuration; used by
// `npm start` (all in one process), by the per-process commands, and by the end-to-end tests.
import { claimDatabaseMode } from './services/deploymentMode';
import { workflowBundle } from './workflowBundle';
import { Client } from '@temporalio/client';
import {
  DefaultLogger,
  NativeConnection,
  Runtime,
  Worker,
  type LogLevel,
} from '@temporalio/worker';
import type { Logger } from 'pino';
import { ConfigError, type Config } from './config';
import { connectTemporal } from './temporalConnection';
import { createMerchantNotificationActivities } from './activities/merchantNotifications';
import { createChannelCallActivities } from './activities/channelCalls';
import { createChannelOrderOpeningActivities } from './activities/channelOrderOpening';
import { createPayOrderRecordActivities } from './activities/payOrderRecords';
import { createStrayPaymentActivities } from './activities/strayPayments';
import { createReconcileActivities } from './activities/reconcile';
import { buildApi } from './api/app';
import { deriveCashierTokenSecret } from './domain/cashierTokens';
import { createChannels, type ChannelRegistry } from './channels/registry';
import type { Database } from './db/client';
import type { ChannelKeys } from './channels/keys';
import { simulatorFaces } from '../simulator/faces';
import { Journal } from '../simulator/journal';
import { buildSimulator } from '../simulator/server';
import type { QuerySchedule } from './domain/querySchedule';
import { createCorrections } from './services/corrections';
import { createNotificationInbox } from './services/inbox';
import { createReconciliationService } from './services/reconciliations';
import { createOrderTurns } from './services/orderTurns';
import { createPayOrderService } from './services/payOrders';
import { createPaymentWorkflows } from './services/paymentWorkflows';
import { createRefundWorkflows } from './services/refundWorkflows';
import { createMerchantEventService } from './services/merchantEvents';
import { createRefundService, type RefundWorkflowDeps } from './services/refunds';
import { createSafetyNetService } from './services/safetyNet';
import { createSafetyNetActivities } from './activities/safetyNet';
import { systemResolver, type AddressPolicy, type HostResolver } from './services/merchantUrls';
import {
  createReadiness,
  databaseCheck,
  startHealthServer,
  temporalCheck,
  workerCheck,
} from './health';
import { safetyNetInput } from './schedules';
import { createSecretBox, type SecretBox } from './services/secretBox';
import { countPayOrdersNeedingAttention } from './services/payOrderAttention';
import { createApiMetrics, createWorkerMetrics } from './metrics';
import { startTracing, untracedWorkflowSinks, type Tracing } from './tracing';
import {
  freeLoopbackPort,
  serveWorkerMetrics,
  type WorkerMetricsServer,
} from './workerMetricsServer';

export interface Stoppable {
  stop(): Promise<void>;
}

/**
 * The channel simulator (simulator/: every channel's gateway, the `sandbox` test channel's among
 * them), its trades kept in its journal file (config.simulatorDataFile).
 */
export async function startSimulator(
  config: Config,
  log: Logger,
  keys?: ChannelKeys,
): Promise<Stoppable & { url: string }> {
  if (config.PAYCENTER_MODE === 'live') {
    throw new ConfigError('the channel simulator serves test mode only');
  }
  const journal = Journal.open(config.simulatorDataFile, {
    onCompactionError: (err) => log.warn({ err }, 'simulator journal compaction failed'),
  });
  const { tornBytes, lines } = journal.recovery;
  log.info({ file: journal.location, lines, tornBytes }, 'simulator journal replayed');
  const { app, gateway } = buildSimulator({
    publicUrl: config.simulatorUrl,
    faces: simulatorFaces(config, keys, journal),
    log,
    journal,
  });
  // Sending stops before the journal closes; what is still owed stays in it for the next start.
  app.addHook('onClose', async () => {
    gateway.stop();
    journal.close();
  });
  try {
    await app.listen({ host: config.SIMULATOR_HOST, port: config.SIMULATOR_PORT });
  } catch (err) {
    await app.close();
    throw err;
  }
  return { url: config.simulatorUrl, stop: () => app.close() };
}

/** The process's Temporal Runtime, once installed: where its SDK metrics exporter listens, if anywhere. */
let installedRuntime: { sdkMetricsUrl?: string } | undefined;

/**
 * Installs the process's Temporal Runtime: the SDK's logs (worker, workflows, activities) through
 * our structured logger and, given a loopback port, its metrics on a Prometheus exporter there. A
 * process has one Runtime: the first call decides, later ones change nothing.
 */
export function installTemporalRuntime(log: Logger, sdkMetricsPort?: number) {
  if (installedRuntime) return;
  const bindAddress = sdkMetricsPort === undefined ? undefined : `127.0.0.1:${sdkMetricsPort}`;
  installedRuntime = bindAddress ? { sdkMetricsUrl: `http://${bindAddress}/metrics` } : {};
  const sdkLog = log.child({ component: 'temporal' });
  const levels: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
    TRACE: 'trace',
    DEBUG: 'debug',
    INFO: 'info',
    WARN: 'warn',
    ERROR: 'error',
  };
  Runtime.install({
    // Our processes stop their parts in order on SIGINT/SIGTERM (src/commands/processes.ts); the
    // SDK's own handler would also swallow the signal in a process that has no handler of its own.
    shutdownSignals: [],
    logger: new DefaultLogger('INFO', (entry) => {
      sdkLog[levels[entry.level]]({ ...entry.meta }, entry.message);
    }),
    ...(bindAddress ? { telemetryOptions: { metrics: { prometheus: { bindAddress } } } } : {}),
  });
}

/**
 * The Runtime a worker process needs: with the SDK's exporter when the worker serves metrics
 * (WORKER_METRICS_PORT), on TEMPORAL_SDK_METRICS_PORT or a free loopback port. Answers the
 * exporter's URL when this process's Runtime has one.
 */
export async function ensureTemporalRuntime(
  log: Logger,
  config: Pick<Config, 'WORKER_METRICS_PORT' | 'TEMPORAL_SDK_METRICS_PORT'>,
): Promise<string | undefined> {
  if (!installedRuntime) {
    const sdkPort =
      config.WORKER_METRICS_PORT === undefined
        ? undefined
        : (config.TEMPORAL_SDK_METRICS_PORT ?? (await freeLoopbackPort()));
    installTemporalRuntime(log, sdkPort);
  }
  return installedRuntime?.sdkMetricsUrl;
}

/** The active-query schedule the workflows follow, from configuration. */
export function querySchedule(config: Config): QuerySchedule {
  return {
    delaysSeconds: config.QUERY_SCHEDULE_SECONDS,
    attentionAfterFailures: config.QUERY_ATTENTION_AFTER_FAILURES,
    rareSeconds: config.QUERY_RARE_SECONDS,
    spreadRatio: config.QUERY_SPREAD_RATIO,
  };
}

/** What a payment workflow is started with, from configuration (API and safety net alike). */
export function paymentWorkflowSettings(config: Config) {
  return {
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    webhookBaseUrl: config.webhookBaseUrl,
    lateWindowSeconds: config.LATE_WINDOW_SECONDS,
    querySchedule: querySchedule(config),
    merchantNotifyRetrySeconds: config.MERCHANT_NOTIFY_RETRY_SECONDS,
    syncPayWaitSeconds: config.SYNC_PAY_WAIT_SECONDS,
    maxChannelOrders: config.PAY_ORDER_MAX_CHANNEL_ORDERS,
    continueAsNewAfterEvents: config.PAYMENT_CONTINUE_AS_NEW_AFTER_EVENTS,
  };
}

/** Where merchant URLs may lead (src/services/merchantUrls.ts); tests bring their own DNS. */
export function addressPolicy(
  config: Config,
  resolve: HostResolver = systemResolver,
): AddressPolicy {
  return {
    allowedHosts: config.NOTIFY_URL_ALLOWED_HOSTS,
    resolve,
    resolveTimeoutMs: config.NOTIFY_URL_RESOLVE_TIMEOUT_MS,
  };
}

/** What seals merchants' notify secrets; `npm start` generates the key when none is configured. */
export function notifySecretBox(config: Config): SecretBox {
  if (!config.PAYCENTER_SECRET_KEY) throw new ConfigError('PAYCENTER_SECRET_KEY is required');
  return createSecretBox(config.PAYCENTER_SECRET_KEY);
}

/**
 * The worker process's V8 heap ceiling (MiB). The SDK sizes its workflow cache from the heap
 * (about 600 workflows a GiB above 200 MiB: 332 here) unless WORKER_MAX_CACHED_WORKFLOWS says
 * otherwise, and a ceiling makes V8 collect instead of growing; the payments not cached are
 * replayed from their short histories when their timers fire. Measured (`npm run bench`, phase
 * open, 2,000 open payments): 704 MiB peak RSS with a 640 MiB ceiling, 1,654 MiB without one;
 * 768 MiB and 10,000 open payments are not measured yet. Without it Node takes a quarter of the
 * machine's memory and the cache thousands of workflows. docker-compose.yml sets the same.
 */
export const workerHeapMiB = 768;

/** A worker process's environment: `env` with the heap ceiling added to its NODE_OPTIONS. */
export function withWorkerHeap(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const options = [env.NODE_OPTIONS, `--max-old-space-size=${workerHeapMiB}`];
  return { ...env, NODE_OPTIONS: options.filter(Boolean).join(' ') };
}

/** Worker capacity settings that are configured; the others keep the SDK's defaults. */
export function workerTuning(config: Config) {
  const tuning = {
    maxCachedWorkflows: config.WORKER_MAX_CACHED_WORKFLOWS,
    maxConcurrentWorkflowTaskExecutions: config.WORKER_MAX_CONCURRENT_WORKFLOW_TASKS,
    maxConcurrentActivityTaskExecutions: config.WORKER_MAX_CONCURRENT_ACTIVITIES,
  };
  return Object.fromEntries(Object.entries(tuning).filter(([, value]) => value !== undefined));
}

/**
 * What a part needs to start refund workflows and correct through the workflows; each part that
 * corrects (the worker's activities, the API's inbox) makes its one Corrections from it here.
 */
function workflowStarterDeps(
  config: Config,
  db: Database,
  temporal: Client,
  log: Logger,
): RefundWorkflowDeps {
  return {
    db: db.db,
    temporal,
    log,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    querySchedule: querySchedule(config),
    merchantNotifyRetrySeconds: config.MERCHANT_NOTIFY_RETRY_SECONDS,
  };
}

export async function startWorker(
  config: Config,
  deps: {
    db: Database;
    channels: ChannelRegistry;
    temporalAddress: string;
    log: Logger;
    resolveHost?: HostResolver;
  },
): Promise<Stoppable> {
  await claimDatabaseMode(deps.db.db, config.PAYCENTER_MODE);
  const sdkMetricsUrl = await ensureTemporalRuntime(deps.log, config);
  const metrics = createWorkerMetrics();
  const tracing = startTracing(config, 'worker');
  // Reconciliation and the safety nets correct through the workflows, so their activities need a
  // client: over the pollers' own connection (one per worker); traced, it carries the activity's
  // trace context into what it starts.
  const { client, connection } = await connectClient(config, deps.temporalAddress, {
    log: deps.log,
    tracing,
  });
  const workflowStarter = workflowStarterDeps(config, deps.db, client, deps.log);
  const corrections = createCorrections(workflowStarter);
  const channelCalls = createChannelCallActivities({
    db: deps.db.db,
    channels: deps.channels,
    metrics,
  });
  const payOrderRecords = createPayOrderRecordActivities({ db: deps.db.db, corrections, metrics });
  const worker = await Worker.create({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    workflowBundle: await workflowBundle(),
    activities: {
      ...channelCalls,
      ...payOrderRecords,
      ...createChannelOrderOpeningActivities({ ...channelCalls, ...payOrderRecords }),
      ...createStrayPaymentActivities({ db: deps.db.db }),
      ...createReconcileActivities({
        db: deps.db.db,
        channels: deps.channels,
        corrections,
        log: deps.log,
        holdDays: config.RECONCILE_HOLD_DAYS,
        metrics,
      }),
      ...createMerchantNotificationActivities({
        db: deps.db.db,
        timeoutMs: config.MERCHANT_NOTIFY_TIMEOUT_MS,
        addressPolicy: addressPolicy(config, deps.resolveHost),
        secretBox: notifySecretBox(config),
        metrics,
      }),
      ...createSafetyNetActivities({
        db: deps.db.db,
        corrections,
        paymentWorkflows: createPaymentWorkflows({
          db: deps.db.db,
          temporal: client,
          log: deps.log,
          ...paymentWorkflowSettings(config),
        }),
        refundWorkflows: createRefundWorkflows(workflowStarter),
        log: deps.log,
        idempotencyKeyRetentionSeconds: config.IDEMPOTENCY_KEY_RETENTION_SECONDS,
        metrics,
      }),
    },
    ...workerTuning(config),
    interceptors: tracing?.worker.interceptors,
    sinks: tracing?.worker.sinks ?? untracedWorkflowSinks,
  });
  const running = runUntilStopped(worker, connection);
  // Asked through the worker's own connection: the one its pollers depend on.
  const readiness = createReadiness(
    [databaseCheck(deps.db.db), temporalCheck(connection), workerCheck(worker)],
    { timeoutMs: config.READINESS_TIMEOUT_MS, log: deps.log.child({ component: 'worker' }) },
  );
  let probes: Stoppable | undefined;
  let metricsServer: WorkerMetricsServer | undefined;
  try {
    if (config.WORKER_HEALTH_PORT !== undefined) {
      probes = await startHealthServer({
        host: config.WORKER_HEALTH_HOST,
        port: config.WORKER_HEALTH_PORT,
        readiness,
      });
    }
    if (config.WORKER_METRICS_PORT !== undefined) {
      metricsServer = await serveWorkerMetrics({
        host: config.WORKER_METRICS_HOST,
        port: config.WORKER_METRICS_PORT,
        registry: metrics.registry,
        sdkMetricsUrl,
        log: deps.log,
      });
    }
  } catch (err) {
    // A port taken by another worker on the host: this one does not run unobserved.
    await probes?.stop();
    await running.stop();
    await tracing?.stop();
    throw err;
  }
  return {
    // The probes answer 503 while the worker drains, and it is scraped until it is gone (its
    // last counts are seen); the spans of its last tasks are sent before it is gone.
    async stop() {
      await running.stop();
      await probes?.stop();
      await metricsServer?.stop();
      await tracing?.stop();
    },
  };
}

/** Runs a worker until stop(), which drains it and then closes its connections. */
export function runUntilStopped(
  worker: Worker,
  ...connections: { close(): Promise<void> }[]
): Stoppable {
  const running = worker.run();
  return {
    async stop() {
      worker.shutdown();
      await running;
      for (const connection of connections) await connection.close();
    },
  };
}

/**
 * A client of the configured namespace; given a part's tracing, its calls carry trace context.
 * Its gRPC runs in the SDK's native runtime, on threads of its own: an API process's event loop
 * only encodes and decodes the messages, so a burst of signals and starts does not hold up the
 * HTTP answers waiting behind them (a grpc-js connection took three times as long of the loop
 * per signal).
 */
export async function connectClient(
  config: Config,
  address: string,
  { log, tracing }: { log: Logger; tracing?: Tracing | undefined },
) {
  await ensureTemporalRuntime(log, config);
  const connection = await connectTemporal(
    (options) => NativeConnection.connect(options),
    address,
    config.temporalSecurity,
  );
  const client = new Client({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    interceptors: tracing?.clientInterceptors,
  });
  return { client, connection };
}

/** The configured cashier token secret, else (test mode) one derived from the ops key. */
function cashierSecret(config: Config, opsKey: string | undefined): string {
  if (config.CASHIER_TOKEN_SECRET) return config.CASHIER_TOKEN_SECRET;
  if (!opsKey) throw new ConfigError('CASHIER_TOKEN_SECRET is required when there is no ops key');
  return deriveCashierTokenSecret(opsKey);
}

export async function startApi(
  config: Config,
  deps: {
    db: Database;
    channels: ChannelRegistry;
    temporalAddress: string;
    /** The built-in operator's key; live mode may have none (named ops keys only). */
    opsKey?: string;
    log: Logger;
    resolveHost?: HostResolver;
  },
): Promise<Stoppable & { url: string }> {
  await claimDatabaseMode(deps.db.db, config.PAYCENTER_MODE);
  const tracing = startTracing(config, 'api');
  const { client, connection } = await connectClient(config, deps.temporalAddress, {
    log: deps.log,
    tracing,
  });
  const log = deps.log;
  const workflowStarter = workflowStarterDeps(config, deps.db, client, log);
  const corrections = createCorrections(workflowStarter);
  const inbox = createNotificationInbox({
    db: deps.db.db,
    log,
    corrections,
    limits: {
      storeConcurrency: config.INBOX_STORE_CONCURRENCY,
      storeBatch: config.INBOX_STORE_BATCH,
      queueLimit: config.INBOX_QUEUE_LIMIT,
      concurrency: config.INBOX_HANDOVER_CONCURRENCY,
      batch: config.INBOX_HANDOVER_BATCH,
      sweepGraceMs: config.INBOX_SWEEP_GRACE_SECONDS * 1000,
      sweepHoldMs: config.INBOX_SWEEP_HOLD_SECONDS * 1000,
    },
  });
  const turns = createOrderTurns(config.UPDATES_PER_PAY_ORDER);
  const metrics = createApiMetrics({
    payOrderRequestsWaiting: () => turns.load().waiting,
    async payOrdersNeedingAttention() {
      try {
        return await countPayOrdersNeedingAttention(deps.db.db);
      } catch (err) {
        log.warn({ err }, 'pay orders needing attention could not be counted for /metrics');
        return undefined;
      }
    },
  });
  // Notifications acknowledged but not handed over: no room in the queue, a failed hand-over.
  const redelivery = setInterval(() => {
    inbox.handOverPending().catch((err) => log.error({ err }, 'inbox redelivery failed'));
  }, config.INBOX_SWEEP_SECONDS * 1000);
  const cashierTokenSecret = cashierSecret(config, deps.opsKey);
  const app = buildApi({
    db: deps.db.db,
    log,
    channels: deps.channels,
    mode: config.PAYCENTER_MODE,
    opsKey: deps.opsKey,
    secretBox: notifySecretBox(config),
    notifySecretOverlapSeconds: config.NOTIFY_SECRET_ROTATION_OVERLAP_SECONDS,
    temporal: client,
    readinessTimeoutMs: config.READINESS_TIMEOUT_MS,
    bodyLimitBytes: config.API_BODY_LIMIT_BYTES,
    rateLimitPerMinute: config.API_RATE_LIMIT_PER_MINUTE,
    trustProxy: config.TRUST_PROXY ?? false,
    idempotencyLeaseSeconds: config.IDEMPOTENCY_LEASE_SECONDS,
    idempotencyKeyRetentionSeconds: config.IDEMPOTENCY_KEY_RETENTION_SECONDS,
    metrics,
    traceRequests: tracing?.traceRequests,
    opsConsole: {
      sessionSeconds: config.OPS_CONSOLE_SESSION_SECONDS,
      idleSeconds: config.OPS_CONSOLE_IDLE_SECONDS,
      temporalUi: config.temporalUiUrl
        ? { url: config.temporalUiUrl, namespace: config.TEMPORAL_NAMESPACE }
        : undefined,
    },
    cashier: {
      tokenSecret: cashierTokenSecret,
      payLimitPerMinute: config.CASHIER_PAY_LIMIT_PER_MINUTE,
      publicUrl: config.publicApiUrl,
    },
    limits: {
      maxAmount: config.PAY_ORDER_MAX_AMOUNT,
      maxExpiresInSeconds: config.PAY_ORDER_MAX_EXPIRES_SECONDS,
    },
    payOrders: createPayOrderService({
      db: deps.db.db,
      temporal: client,
      channels: deps.channels,
      log,
      publicApiUrl: config.publicApiUrl,
      cashierTokenSecret,
      defaultExpiresInSeconds: config.PAY_ORDER_DEFAULT_EXPIRES_SECONDS,
      addressPolicy: addressPolicy(config, deps.resolveHost),
      updateWaitSeconds: config.UPDATE_WAIT_SECONDS,
      turns,
      metrics,
      ...paymentWorkflowSettings(config),
    }),
    refunds: createRefundService(workflowStarter),
    events: createMerchantEventService({
      db: deps.db.db,
      temporal: client,
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      log,
    }),
    inbox,
    safetyNet: createSafetyNetService({
      db: deps.db.db,
      temporal: client,
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      input: safetyNetInput(config),
    }),
    reconciliations: createReconciliationService({
      db: deps.db.db,
      temporal: client,
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      channels: deps.channels,
      timeZone: config.RECONCILE_TIME_ZONE,
    }),
  });
  await app.listen({
    host: config.API_HOST,
    port: config.API_PORT,
    backlog: config.API_LISTEN_BACKLOG,
  });
  return {
    url: config.publicApiUrl,
    async stop() {
      clearInterval(redelivery);
      await app.close();
      await inbox.drain();
      await connection.close();
      await tracing?.stop();
    },
  };
}

export { createChannels };
