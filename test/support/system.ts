// A whole paycenter (channel simulator, worker, API) on free ports, against the run's Temporal and
// PostgreSQL, with its own task queue so test files running side by side never share workers.
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { and, eq } from 'drizzle-orm';
import { loadConfig, type Config } from '../../src/config';
import { channelCredentials } from '../../src/channels/credentials';
import { generateChannelKeys, type ChannelKeys } from '../../src/channels/keys';
import type { DestinationStream } from 'pino';
import postgres from 'postgres';
import { ensureDatabaseExists, openPglite, openPostgres, type Database } from '../../src/db/client';
import { channelNotifications } from '../../src/db/schema';
import { createLogger } from '../../src/log';
import { demoMerchantId, ensureMerchant, generateSecret } from '../../src/services/merchants';
import {
  connectClient,
  createChannels,
  startApi,
  startSimulator,
  startWorker,
  type Stoppable,
} from '../../src/system';
import type { HostResolver } from '../../src/services/merchantUrls';
import { createSecretBox } from '../../src/services/secretBox';
import { plaintextTemporal } from '../../src/temporalConnection';
import { freePort } from './ports';
import { apiKeyPrefix, type Mode } from '../../src/domain/modes';

export interface TestSystem {
  config: Config;
  /** The system's database (the run's, or the file's own). */
  databaseUrl: string;
  apiUrl: string;
  simulatorUrl: string;
  apiKey: string;
  opsKey: string;
  database: Database;
  temporal: Client;
  /** Calls the API as the demo merchant; answers status and parsed JSON (or text). */
  api(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<Answer>;
  /** Calls the channel simulator (its control API, its faces). */
  simulator(method: string, path: string, body?: unknown): Promise<Answer>;
  /** Calls the API as an operator (the ops key). */
  ops(method: string, path: string, body?: unknown): Promise<Answer>;
  /** An operator creates a merchant (201): the merchant, its first API key and notify secret. */
  createMerchant(name: string): Promise<CreatedMerchant>;
  /** The pay order as the merchant reads it (`GET /v1/pay-orders/:id`). */
  payOrder(id: string): Promise<any>;
  /** The channel's notifications of a channel order stored in the inbox. */
  inbox(channel: string, outTradeNo: string): Promise<(typeof channelNotifications.$inferSelect)[]>;
  /** The simulator's own record of a channel order (its trade). */
  trade(outTradeNo: string): Promise<any>;
  /** Waits until the workflow with this ID (a pay order's is its ID) has started and completed. */
  workflowCompleted(workflowId: string, options?: { timeoutMs?: number }): Promise<void>;
  stop(): Promise<void>;
}

export interface CreatedMerchant {
  merchant: { id: string; name: string; createdAt: string };
  apiKey: { id: string; key: string; prefix: string };
  notifySecret: string;
}

export interface Answer {
  status: number;
  contentType: string;
  retryAfter?: string;
  body: any;
}

/**
 * The run's secret key for notify secrets: one for every test file, as they share the database
 * (and its demo merchant), like the generated key a demo keeps in DATA_DIR.
 */
export const testSecretKey = createHash('sha256').update('paycenter test secret key').digest();
export const testSecretBox = createSecretBox(testSecretKey);

let keys: ChannelKeys | undefined;
let liveKeys: ChannelKeys | undefined;

/** Key pairs for both sides of every channel, made once per test process (it takes a moment). */
export function testChannelKeys(): ChannelKeys {
  keys ??= generateChannelKeys();
  return keys;
}

/** The real channels' keys of live systems: never the test systems' generated ones. */
export function liveChannelKeys(): ChannelKeys {
  liveKeys ??= generateChannelKeys();
  return liveKeys;
}

export function runDatabaseUrl(): string {
  const url = process.env.TEST_DATABASE_URL_FOR_RUN;
  if (!url) throw new Error('run the tests with `npm test` (test/run.ts prepares the database)');
  return url;
}

export function runTemporalAddress(): string {
  const address = process.env.TEST_TEMPORAL_ADDRESS;
  if (!address) throw new Error('run the tests with `npm test` (test/run.ts starts Temporal)');
  return address;
}

async function call(url: string, method: string, body: unknown, headers: Record<string, string>) {
  const response = await fetch(url, {
    method,
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const contentType = response.headers.get('content-type') ?? '';
  const text = await response.text();
  return {
    status: response.status,
    contentType,
    retryAfter: response.headers.get('retry-after') ?? undefined,
    body: contentType.includes('json') && text ? JSON.parse(text) : text,
  };
}

/**
 * A database of the test file's own, for tests of whole-book operations (reconciliation, scans)
 * that must not see the pay orders of test files running beside them. Dropped by `drop()`.
 */
async function openOwnDatabase(): Promise<{
  url: string;
  database: Database;
  drop(): Promise<void>;
}> {
  const url = new URL(runDatabaseUrl());
  url.pathname = `/${url.pathname.slice(1)}_${randomUUID().slice(0, 8)}`;
  await ensureDatabaseExists(url.toString());
  const database = await openPostgres(url.toString(), 5);
  await database.migrate();
  return {
    url: url.toString(),
    database,
    async drop() {
      await database.close();
      const admin = new URL(url);
      admin.pathname = '/postgres';
      const sql = postgres(admin.toString(), { max: 1, onnotice: () => {} });
      await sql.unsafe(`drop database if exists "${url.pathname.slice(1)}" with (force)`);
      await sql.end();
    },
  };
}

/**
 * A live deployment's configuration whose real channels are the simulated faces at `simulatorUrl`,
 * reached like production channels: every credential configured, every gateway explicit.
 */
export function liveModeEnv(
  keys: ChannelKeys,
  at: { apiUrl: string; simulatorUrl: string; databaseUrl: string; temporalAddress: string },
) {
  const { simulatorUrl } = at;
  return {
    PAYCENTER_MODE: 'live',
    PUBLIC_API_URL: at.apiUrl,
    DATABASE_URL: at.databaseUrl,
    TEMPORAL_ADDRESS: at.temporalAddress,
    CASHIER_TOKEN_SECRET: createHash('sha256').update('live cashier tokens').digest('hex'),
    ALIPAY_APP_ID: '2021000000000001',
    ALIPAY_APP_PRIVATE_KEY: keys.alipay.app.privateKey,
    ALIPAY_PUBLIC_KEY: keys.alipay.platform.publicKey,
    ALIPAY_GATEWAY_URL: `${simulatorUrl}/alipay/gateway.do`,
    WECHATPAY_MCH_ID: '1900000001',
    WECHATPAY_APP_ID: 'wx0000000000000001',
    WECHATPAY_MCH_PRIVATE_KEY: keys.wechatpay.merchant.privateKey,
    WECHATPAY_MCH_SERIAL_NO: keys.wechatpay.merchant.serial,
    WECHATPAY_API_V3_KEY: keys.wechatpay.apiV3Key,
    WECHATPAY_PLATFORM_PUBLIC_KEY: keys.wechatpay.platform.publicKey,
    WECHATPAY_PLATFORM_SERIAL_NO: keys.wechatpay.platform.serial,
    WECHATPAY_BASE_URL: `${simulatorUrl}/wechatpay`,
    BANKCARD_MER_ID: '777290058110048',
    BANKCARD_SIGN_PRIVATE_KEY: keys.bankcard.merchant.privateKey,
    BANKCARD_SIGN_CERT_ID: keys.bankcard.merchant.serial,
    BANKCARD_VERIFY_PUBLIC_KEY: keys.bankcard.platform.publicKey,
    BANKCARD_VERIFY_CERT_ID: keys.bankcard.platform.serial,
    BANKCARD_GATEWAY_URL: `${simulatorUrl}/bankcard`,
  };
}

type TestSystemOptions = {
  /**
   * `live`: a live deployment on a database of its own, whose channels are the simulator's faces
   * configured as real channels (the simulator stands in for the channels' servers).
   */
  mode?: Mode;
  env?: Record<string, string>;
  embeddedDatabase?: boolean;
  ownDatabase?: boolean;
  /** The run's database reached at another URL (e.g. through a proxy a test may cut). */
  databaseUrl?: string;
  /** The run's Temporal reached at another address (e.g. through a proxy a test may cut). */
  temporalAddress?: string;
  /** Where the system's log lines go (a test reads them); stdout by default. */
  logDestination?: DestinationStream;
  /** The DNS the system's merchant URL checks use; the machine's by default. */
  resolveHost?: HostResolver;
  /** The test runs the simulator (a process of its own) at SIMULATOR_PORT or SIMULATOR_URL. */
  ownSimulator?: boolean;
  /** The test runs the workers itself (processes of their own) on `config.TEMPORAL_TASK_QUEUE`. */
  ownWorkers?: boolean;
};

export async function startTestSystem(options: TestSystemOptions = {}): Promise<TestSystem> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startTestSystemOnce(options);
    } catch (err) {
      // Another process can take a port between freePort() and the listen: pick new ports.
      if (attempt < 3 && (err as NodeJS.ErrnoException).code === 'EADDRINUSE') continue;
      throw err;
    }
  }
}

async function startTestSystemOnce(options: TestSystemOptions): Promise<TestSystem> {
  const [apiPort, simulatorPort] = [await freePort(), await freePort()];
  const live = options.mode === 'live';
  const own = options.ownDatabase || live ? await openOwnDatabase() : undefined;
  // The simulator keeps its trades in a journal of this system's own.
  const simulatorDir = mkdtempSync(path.join(tmpdir(), 'paycenter-simulator-'));
  const config = loadConfig({
    ...(live
      ? liveModeEnv(liveChannelKeys(), {
          apiUrl: `http://localhost:${apiPort}`,
          simulatorUrl: `http://localhost:${simulatorPort}`,
          databaseUrl: own!.url,
          temporalAddress: runTemporalAddress(),
        })
      : {}),
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
    API_PORT: String(apiPort),
    SIMULATOR_PORT: String(simulatorPort),
    TEMPORAL_TASK_QUEUE: `payments-test-${randomUUID()}${live ? '-live' : ''}`,
    SIMULATOR_NOTIFY_RETRY_SECONDS: '1,1,2,2',
    // the tests' merchant endpoints listen on loopback
    NOTIFY_URL_ALLOWED_HOSTS: '127.0.0.1,localhost',
    PAYCENTER_SECRET_KEY: testSecretKey.toString('hex'),
    SIMULATOR_DATA_FILE: path.join(simulatorDir, 'simulator-journal.jsonl'),
    ...options.env,
  });
  const log = createLogger(config.LOG_LEVEL, options.logDestination);
  const database =
    own?.database ??
    (options.embeddedDatabase
      ? await openPglite()
      : await openPostgres(options.databaseUrl ?? runDatabaseUrl(), 5));
  if (options.embeddedDatabase) await database.migrate();
  const temporalAddress = options.temporalAddress ?? runTemporalAddress();
  const keys = live ? liveChannelKeys() : testChannelKeys();
  const channels = createChannels(config, channelCredentials(config, keys));
  const apiKey = generateSecret(apiKeyPrefix(config.PAYCENTER_MODE));
  const opsKey = generateSecret('ops_test');
  await ensureMerchant(
    database.db,
    { id: demoMerchantId, name: 'Demo merchant' },
    apiKey,
    testSecretBox,
  );

  const parts: Stoppable[] = [];
  const stopParts = async () => {
    for (const part of parts.reverse()) await part.stop();
    await (own ? own.drop() : database.close());
  };
  try {
    parts.push({ stop: async () => rmSync(simulatorDir, { recursive: true, force: true }) });
    // The simulator is the channels' side, whatever the deployment's mode.
    const channelSide: Config = { ...config, PAYCENTER_MODE: 'test' };
    if (!options.ownSimulator) parts.push(await startSimulator(channelSide, log, keys));
    const resolveHost = options.resolveHost;
    if (!options.ownWorkers) {
      parts.push(
        await startWorker(config, { db: database, channels, temporalAddress, log, resolveHost }),
      );
    }
    parts.push(
      await startApi(config, { db: database, channels, temporalAddress, opsKey, log, resolveHost }),
    );
  } catch (err) {
    // A part that failed to start must not leave the others running: they would hold the test
    // file's process (and its output) open after the file ends.
    await stopParts().catch(() => {});
    throw err;
  }
  // The test's own client goes straight to Temporal, whatever link the system's parts use.
  const { client, connection } = await connectClient(
    { ...config, temporalSecurity: plaintextTemporal },
    runTemporalAddress(),
    { log },
  );
  const merchant = { authorization: `Bearer ${apiKey}` };
  const ops = (method: string, path: string, body?: unknown) =>
    call(`${config.publicApiUrl}${path}`, method, body, { authorization: `Bearer ${opsKey}` });

  return {
    config,
    databaseUrl: own?.url ?? options.databaseUrl ?? runDatabaseUrl(),
    apiUrl: config.publicApiUrl,
    simulatorUrl: config.simulatorUrl,
    apiKey,
    opsKey,
    database,
    temporal: client,
    api: (method, path, body, headers = {}) =>
      call(`${config.publicApiUrl}${path}`, method, body, { ...merchant, ...headers }),
    simulator: (method, path, body) => call(`${config.simulatorUrl}${path}`, method, body, {}),
    ops,
    async createMerchant(name) {
      const created = await ops('POST', '/ops/merchants', { name });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      return created.body as CreatedMerchant;
    },
    payOrder: async (id) =>
      (await call(`${config.publicApiUrl}/v1/pay-orders/${id}`, 'GET', undefined, merchant)).body,
    inbox: (channel, outTradeNo) =>
      database.db
        .select()
        .from(channelNotifications)
        .where(
          and(
            eq(channelNotifications.channel, channel),
            eq(channelNotifications.outTradeNo, outTradeNo),
          ),
        ),
    trade: async (outTradeNo) =>
      (await call(`${config.simulatorUrl}/control/payments/${outTradeNo}`, 'GET', undefined, {}))
        .body,
    workflowCompleted: async (workflowId, { timeoutMs } = {}) => {
      await eventually(
        // Not started yet (or not found) is not completed yet.
        async () =>
          client.workflow
            .getHandle(workflowId)
            .describe()
            .then((run) => run.status.name === 'COMPLETED')
            .catch(() => false),
        { what: `the workflow ${workflowId} to complete`, ...(timeoutMs ? { timeoutMs } : {}) },
      );
    },
    async stop() {
      await connection.close();
      await stopParts();
    },
  };
}

/** Polls until `check` answers something truthy, or fails with the last answer after `timeoutMs`. */
export async function eventually<T>(
  check: () => Promise<T | undefined | false>,
  { timeoutMs = 20_000, intervalMs = 200, what = 'condition' } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * Repeats an API call as a merchant does while the API answers 503 (Retry-After): the first other
 * answer.
 */
export function retriedWhileUnavailable(
  call: () => Promise<Answer>,
  what: string,
): Promise<Answer> {
  return eventually(
    async () => {
      const answer = await call();
      return answer.status !== 503 && answer;
    },
    { what },
  );
}
