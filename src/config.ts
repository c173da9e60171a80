// All configuration, validated once at start; nothing else reads process.env.
import { isIP } from 'node:net';
import path from 'node:path';
import { z } from 'zod';
import { liveCredentialProblems, productionGatewayProblems } from './channels/modeRules';
import { allowListHost } from './domain/addresses';
import { currencies, type Currency } from './domain/money';
import { modes } from './domain/modes';
import { defaultMoneyLookbackSeconds } from './domain/safetyNet';
import { parseSecretKey } from './services/secretBox';
import {
  isLoopbackAddress,
  plaintextTemporal,
  readTemporalSecurity,
  type TemporalSecurity,
  type TemporalSecuritySettings,
} from './temporalConnection';

const seconds = (fallback: number) => z.coerce.number().int().positive().default(fallback);
const port = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);
/** A comma-separated list of seconds, e.g. "10,20,30". */
const secondsList = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((text, ctx) => {
      const delays = text.split(',').map((s) => Number(s.trim()));
      if (delays.length === 0 || delays.some((d) => !Number.isFinite(d) || d < 0)) {
        ctx.addIssue({ code: 'custom', message: 'must be a comma-separated list of seconds' });
        return z.NEVER;
      }
      return delays;
    });
const optionalText = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v));

export const configSchema = z.object({
  /**
   * `test` (the demo: the sandbox channel, generated keys) or `live` (real channels only, every
   * credential and secret configured); the API keys, pay orders and database are of this mode.
   */
  PAYCENTER_MODE: z.enum(modes).default('test'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DATA_DIR: z.string().default('.data'),

  API_HOST: z.string().default('127.0.0.1'),
  API_PORT: port(3000),
  /**
   * Connections the kernel holds for the API before it accepts them (capped by the kernel's
   * net.core.somaxconn). Node's 511 overflows when a burst of channel notifications opens
   * connections while the event loop is busy; each dropped connection waits 1 s, then 3 s, for the
   * client to try again.
   */
  API_LISTEN_BACKLOG: z.coerce.number().int().positive().max(65_535).default(4096),
  /** Where merchants, payers and channels reach the API (cashier URL, channel notify_url). */
  PUBLIC_API_URL: optionalText.pipe(z.url().optional()),
  /** Where channels post notifications, when they reach the API by another address than payers. */
  PUBLIC_WEBHOOK_URL: optionalText.pipe(z.url().optional()),
  /**
   * Requests per minute per valid API key or ops key; requests without a valid key share one
   * budget per client address. Webhooks are not limited.
   */
  API_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().positive().default(1200),
  /**
   * The reverse proxies in front of the API, comma-separated: addresses, CIDRs, or `loopback`,
   * `linklocal`, `uniquelocal`. A request from one of them is counted by the client address its
   * X-Forwarded-For names; unset: X-Forwarded-For is ignored.
   */
  TRUST_PROXY: optionalText.transform((text, ctx) => {
    if (text === undefined) return undefined;
    const proxies = text.split(',').map((p) => p.trim());
    const bad = proxies.filter((p) => !isProxyAddress(p));
    if (bad.length > 0) {
      ctx.addIssue({
        code: 'custom',
        message: `not an address, CIDR or range name: ${bad.join(', ')}`,
      });
      return z.NEVER;
    }
    return proxies;
  }),
  /** How long a request holds its Idempotency-Key; a retry after that takes over (it crashed). */
  IDEMPOTENCY_LEASE_SECONDS: seconds(60),
  /** How long an Idempotency-Key's answer is replayed; the safety-net scan deletes older keys. */
  IDEMPOTENCY_KEY_RETENTION_SECONDS: seconds(24 * 3600),
  API_BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(64 * 1024),
  /**
   * Channel notifications the API holds in memory for hand-over to their workflows at most; the
   * rest wait in the inbox (stored, acknowledged) for the sweep. 0: every one waits for it.
   */
  INBOX_QUEUE_LIMIT: z.coerce.number().int().nonnegative().default(10_000),
  /**
   * Statements storing channel notifications under way at once, per API process; notifications
   * arriving meanwhile wait and are stored together by the next one (group commit).
   */
  INBOX_STORE_CONCURRENCY: z.coerce.number().int().positive().max(100).default(4),
  /** Channel notifications stored by one statement at most. */
  INBOX_STORE_BATCH: z.coerce.number().int().positive().max(1000).default(100),
  /** Notification hand-overs (signals) under way at once, per API process. */
  INBOX_HANDOVER_CONCURRENCY: z.coerce.number().int().positive().max(1000).default(32),
  /** Hand-overs marked in the inbox by one statement at most (also the sweep's page). */
  INBOX_HANDOVER_BATCH: z.coerce.number().int().positive().max(10_000).default(200),
  /** How often the API hands over what waits in the inbox (a full queue, a stop, an outage). */
  INBOX_SWEEP_SECONDS: seconds(15),
  /** How long a stored notification waits for its own hand-over before the sweep takes it. */
  INBOX_SWEEP_GRACE_SECONDS: seconds(10),
  /**
   * How long one API process's sweep holds the notifications it took while it hands them over:
   * other processes' sweeps pass them by until then. Once the page's hand-overs are over it lets
   * go of what they left; a process that stopped (or could not reach the books) before that keeps
   * them from the others until the hold lapses.
   */
  INBOX_SWEEP_HOLD_SECONDS: seconds(60),

  DATABASE_URL: optionalText.pipe(z.url().optional()),
  DATABASE_POOL_SIZE: z.coerce.number().int().positive().default(10),
  /**
   * Statements with parameters prepared once per connection (one round trip each instead of two);
   * `false` behind a pooler that cannot carry prepared statements between server connections
   * (PgBouncer in transaction mode before 1.21, or without max_prepared_statements).
   */
  DATABASE_PREPARED_STATEMENTS: optionalText.pipe(
    z
      .enum(['true', 'false'], { message: 'must be true or false' })
      .default('true')
      .transform((flag) => flag === 'true'),
  ),
  /** Workflows the worker keeps in memory between tasks; unset: the SDK's default (from the heap size). */
  WORKER_MAX_CACHED_WORKFLOWS: z.coerce.number().int().nonnegative().optional(),
  /** Workflow tasks the worker runs at once; unset: the SDK's default (40). */
  WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: z.coerce.number().int().positive().optional(),
  /** Activities the worker runs at once; unset: the SDK's default (100). */
  WORKER_MAX_CONCURRENT_ACTIVITIES: z.coerce.number().int().positive().optional(),
  /** Where a worker answers GET /livez and GET /readyz (src/health.ts); unset: no probe server. */
  WORKER_HEALTH_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  WORKER_HEALTH_HOST: z.string().default('127.0.0.1'),
  /** How long /readyz waits for its checks (database, Temporal) before it answers 503. */
  READINESS_TIMEOUT_MS: z.coerce.number().int().positive().max(60_000).default(2_000),
  /**
   * Where each worker serves GET /metrics (paycenter's worker metrics and the Temporal SDK's);
   * unset: no metrics server and no SDK exporter.
   */
  WORKER_METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  /** The worker metrics server's address (0.0.0.0 in a container Prometheus scrapes). */
  WORKER_METRICS_HOST: z.string().default('127.0.0.1'),
  /**
   * The loopback port the Temporal SDK's Prometheus exporter binds, which the worker's /metrics
   * reads and appends; unset: a free one. Only with WORKER_METRICS_PORT.
   */
  TEMPORAL_SDK_METRICS_PORT: z.coerce.number().int().min(1).max(65535).optional(),

  /**
   * Where spans go, over OTLP/HTTP with JSON bodies (spans are posted to <endpoint>/v1/traces);
   * unset: no tracing at all, and no OpenTelemetry package is loaded.
   */
  OTEL_EXPORTER_OTLP_ENDPOINT: optionalText.pipe(z.url({ protocol: /^https?$/ }).optional()),
  /** The service the spans name; unset: paycenter-api, paycenter-worker (the part that made them). */
  OTEL_SERVICE_NAME: optionalText,

  TEMPORAL_ADDRESS: optionalText,
  TEMPORAL_NAMESPACE: z.string().default('default'),
  /** Unset: `payments` in test mode, `payments-live` in live mode, so neither runs the other's. */
  TEMPORAL_TASK_QUEUE: optionalText,
  TEMPORAL_PORT: port(7233),
  TEMPORAL_UI_PORT: port(8233),
  /**
   * The Temporal UI the ops console links workflows to; unset: the dev server's UI when paycenter
   * runs one (no TEMPORAL_ADDRESS), else no links.
   */
  TEMPORAL_UI_URL: optionalText.pipe(z.url({ protocol: /^https?$/ }).optional()),
  /** Path to the Temporal CLI; scripts/temporal-cli.sh provides it. */
  TEMPORAL_CLI: optionalText,
  // How TEMPORAL_ADDRESS is reached (src/temporalConnection.ts); the names are the Temporal CLI's.
  /**
   * `true`: TLS, verified against the system's trusted CAs unless TEMPORAL_TLS_SERVER_CA_CERT_PATH
   * names others; `false`: plaintext, and no TLS variable or API key may be set. Unset: TLS when
   * any TLS variable or an API key is set.
   */
  TEMPORAL_TLS: optionalText.pipe(
    z
      .enum(['true', 'false'], { message: 'must be true or false' })
      .transform((flag) => flag === 'true')
      .optional(),
  ),
  /** PEM file of the CA(s) that signed the Temporal server's certificate. */
  TEMPORAL_TLS_SERVER_CA_CERT_PATH: optionalText,
  /** PEM file of this client's certificate, for mutual TLS (with TEMPORAL_TLS_CLIENT_KEY_PATH). */
  TEMPORAL_TLS_CLIENT_CERT_PATH: optionalText,
  /** PEM file of the client certificate's private key (unencrypted). */
  TEMPORAL_TLS_CLIENT_KEY_PATH: optionalText,
  /** The name the server's certificate is checked against, when not TEMPORAL_ADDRESS's host. */
  TEMPORAL_TLS_SERVER_NAME: optionalText,
  /** An API key sent as `Authorization: Bearer` (Temporal Cloud); implies TLS. */
  TEMPORAL_API_KEY: optionalText,
  /** A file holding the API key (a mounted secret), instead of TEMPORAL_API_KEY. */
  TEMPORAL_API_KEY_FILE: optionalText,

  PAYCENTER_DEMO_API_KEY: optionalText,
  PAYCENTER_OPS_API_KEY: optionalText,
  /** Signs the token in each cashierUrl; unset: derived from the ops key (set it when live). */
  CASHIER_TOKEN_SECRET: optionalText.pipe(
    z.string().min(32, 'must be at least 32 characters').optional(),
  ),
  /**
   * Seals merchants' notify secrets at rest (AES-256-GCM): 32 bytes as 64 hex digits or base64.
   * Unset: the single-process demo generates one and keeps it in DATA_DIR/keys.json.
   */
  PAYCENTER_SECRET_KEY: optionalText.transform((text, ctx) => {
    if (text === undefined) return undefined;
    const key = parseSecretKey(text);
    if (!key) {
      ctx.addIssue({ code: 'custom', message: 'must be 32 bytes, as 64 hex digits or base64' });
      return z.NEVER;
    }
    return key;
  }),
  /** Cashier pay requests a minute, per pay order and per client address. */
  CASHIER_PAY_LIMIT_PER_MINUTE: z.coerce.number().int().positive().default(20),

  PAY_ORDER_DEFAULT_EXPIRES_SECONDS: seconds(30 * 60),
  PAY_ORDER_MAX_EXPIRES_SECONDS: seconds(7 * 24 * 3600),
  PAY_ORDER_MAX_AMOUNT: z.coerce
    .number()
    .int()
    .positive()
    .max(Number.MAX_SAFE_INTEGER)
    .default(100_000_000),
  /** How long a settled pay order keeps listening for late or duplicate successes. */
  LATE_WINDOW_SECONDS: seconds(72 * 3600),
  /** Channel orders one pay order may open in all (switches of channel or method included). */
  PAY_ORDER_MAX_CHANNEL_ORDERS: z.coerce.number().int().positive().max(1000).default(20),
  /** Events in a payment workflow's history before it continues as new (Temporal may ask earlier). */
  PAYMENT_CONTINUE_AS_NEW_AFTER_EVENTS: z.coerce.number().int().min(100).max(40_000).default(5000),

  /** Where the channel simulator (simulator/, the `simulator` command) listens. */
  SIMULATOR_HOST: z.string().default('127.0.0.1'),
  SIMULATOR_PORT: port(4010),
  /**
   * The simulator's base URL as the adapters reach it and the payer's browser opens its pages;
   * every channel's gateway in test mode (unset: http://localhost:SIMULATOR_PORT).
   */
  SIMULATOR_URL: optionalText.pipe(z.url().optional()),
  /**
   * The simulator's journal of trades, refunds and owed notifications (one simulator process per
   * file); unset: DATA_DIR/sandbox-journal.jsonl (the name it has always had, so a journal
   * written before the rename is still found).
   */
  SIMULATOR_DATA_FILE: optionalText,
  /** How long a pay request waits for a synchronous channel's pending payment (async made sync). */
  SYNC_PAY_WAIT_SECONDS: seconds(15),
  /**
   * How long a pay, sync or close request waits for the payment workflow before answering 503
   * STILL_PROCESSING (the work goes on; the same request again learns its outcome).
   */
  UPDATE_WAIT_SECONDS: seconds(30),
  /**
   * How many pay, sync or close requests of one pay order an API process lets wait on its workflow
   * at once; the others queue in the process (within UPDATE_WAIT_SECONDS). Temporal refuses more
   * than 10 Updates in flight on one workflow (its history.maxInFlightUpdates), so this times the
   * number of API processes should stay at or under that.
   */
  UPDATES_PER_PAY_ORDER: z.coerce.number().int().min(1).max(10).default(4),
  /** How long a channel call may take before it counts as unanswered. */
  CHANNEL_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  SANDBOX_APP_ID: z.string().default('paycenter-demo'),
  SANDBOX_SECRET: z.string().min(16).default('sandbox-demo-secret-change-me'),
  /**
   * The currencies the sandbox channel takes (comma-separated ISO 4217 codes); default every one
   * paycenter supports. `CNY` makes a test deployment refuse what the live channels would.
   */
  SANDBOX_CURRENCIES: z
    .string()
    .default(currencies.join(','))
    .transform((text, ctx) => {
      const codes = text.split(',').map((code) => code.trim());
      const unknown = codes.filter((code) => !(currencies as string[]).includes(code));
      if (unknown.length > 0) {
        ctx.addIssue({
          code: 'custom',
          message: `must be a comma-separated list of: ${currencies.join(', ')} (not ${unknown.join(', ')})`,
        });
        return z.NEVER;
      }
      return codes as Currency[];
    }),
  /** The simulated channels' notification retry schedule, in seconds. */
  SIMULATOR_NOTIFY_RETRY_SECONDS: secondsList(
    '15,15,30,180,600,1200,1800,1800,1800,3600,10800,10800,10800,21600,21600',
  ),

  // Real channels. Keys are PEM text; any left unset in the single-process demo and the tests
  // come from generated key pairs shared with the simulator (src/channels/keys.ts).
  ALIPAY_APP_ID: z.string().default('2021000000000001'),
  ALIPAY_APP_PRIVATE_KEY: optionalText,
  ALIPAY_PUBLIC_KEY: optionalText,
  ALIPAY_GATEWAY_URL: optionalText.pipe(z.url().optional()),
  ALIPAY_NOTIFY_RETRY_SECONDS: secondsList('120,600,600,3600,7200,21600,54000'),

  WECHATPAY_MCH_ID: z.string().default('1900000001'),
  WECHATPAY_APP_ID: z.string().default('wx0000000000000001'),
  WECHATPAY_MCH_PRIVATE_KEY: optionalText,
  WECHATPAY_MCH_SERIAL_NO: optionalText,
  WECHATPAY_API_V3_KEY: optionalText.pipe(z.string().length(32).optional()),
  WECHATPAY_PLATFORM_PUBLIC_KEY: optionalText,
  WECHATPAY_PLATFORM_SERIAL_NO: optionalText,
  WECHATPAY_BASE_URL: optionalText.pipe(z.url().optional()),
  /** At most one platform certificate download per this many seconds, per process. */
  WECHATPAY_CERTIFICATE_REFRESH_SECONDS: seconds(60),
  WECHATPAY_NOTIFY_RETRY_SECONDS: secondsList(
    '15,15,30,180,600,1200,1800,1800,1800,3600,10800,10800,10800,21600,21600',
  ),

  BANKCARD_MER_ID: z.string().default('777290058110048'),
  BANKCARD_SIGN_PRIVATE_KEY: optionalText,
  BANKCARD_SIGN_CERT_ID: optionalText,
  BANKCARD_VERIFY_PUBLIC_KEY: optionalText,
  BANKCARD_VERIFY_CERT_ID: optionalText,
  BANKCARD_GATEWAY_URL: optionalText.pipe(z.url().optional()),
  BANKCARD_NOTIFY_RETRY_SECONDS: secondsList('1,2,4,8,16,32,60,300,600'),

  /** Delays between deliveries of a merchant notification until it answers 2xx. */
  MERCHANT_NOTIFY_RETRY_SECONDS: secondsList(
    '15,15,30,180,600,1200,1800,1800,1800,3600,10800,10800,10800,21600,21600',
  ),
  /** How long an ops console session lasts at most, and without a request. */
  OPS_CONSOLE_SESSION_SECONDS: seconds(8 * 3600),
  OPS_CONSOLE_IDLE_SECONDS: seconds(30 * 60),
  /** After a notify secret is rotated, how long deliveries are signed with the old one as well. */
  NOTIFY_SECRET_ROTATION_OVERLAP_SECONDS: seconds(24 * 3600),
  MERCHANT_NOTIFY_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  /**
   * Hosts a merchant's notify or return URL may name although they are (or resolve to) internal
   * addresses, comma-separated, e.g. "localhost,127.0.0.1" for the demo's merchant receiver.
   */
  NOTIFY_URL_ALLOWED_HOSTS: z
    .string()
    .default('')
    .transform((text, ctx) => {
      const entries = text.split(',').filter((entry) => entry.trim() !== '');
      const hosts = entries.map(allowListHost);
      if (hosts.some((host) => host === undefined)) {
        ctx.addIssue({ code: 'custom', message: 'must be a comma-separated list of host names' });
        return z.NEVER;
      }
      return hosts as string[];
    }),
  /** How long creating a pay order waits for its notify URL's name to resolve before accepting it. */
  NOTIFY_URL_RESOLVE_TIMEOUT_MS: z.coerce.number().int().positive().default(2_000),

  /** Delays before each active query of an unsettled channel order; the last one repeats. */
  QUERY_SCHEDULE_SECONDS: secondsList('10,20,30,60,120,300,600,1800'),
  /** Failed queries in a row before the pay order is flagged NeedsAttention. */
  QUERY_ATTENTION_AFTER_FAILURES: z.coerce.number().int().positive().default(10),
  /** How often a flagged order is still queried. */
  QUERY_RARE_SECONDS: seconds(3600),
  /**
   * Each query waits up to this share of its delay longer, spread by order, so that a burst of
   * orders created together does not query the channel in a burst (0: no spread).
   */
  QUERY_SPREAD_RATIO: z.coerce.number().min(0).max(1).default(0.2),

  /** The time zone of the daily reconciliation's schedule and of "yesterday". */
  RECONCILE_TIME_ZONE: z
    .string()
    .refine(isTimeZone, 'must be an IANA time zone such as Asia/Shanghai')
    .default('Asia/Shanghai'),
  /** When, in that time zone, the previous day's statements are out: the daily run starts then. */
  RECONCILE_CUTOFF: z
    .string()
    .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM')
    .default('10:00'),
  /** Channels the daily run reconciles, comma-separated; all configured channels when unset. */
  RECONCILE_CHANNELS: optionalText,
  /**
   * Days a difference that may be a day-boundary shift (we booked it, the day's statement lacks
   * it) waits for another day's statement to book it before it goes to the operators; 0: never.
   */
  RECONCILE_HOLD_DAYS: z.coerce.number().int().min(0).max(31).default(3),
  /** How often the safety-net scans run. */
  SAFETY_NET_INTERVAL_SECONDS: seconds(15 * 60),
  /** How long a suspicious state must last before a scan acts (the workflows get their chance). */
  SAFETY_NET_GRACE_SECONDS: seconds(30 * 60),
  /**
   * The money-invariant check reads settled orders whose books changed within this long before
   * the grace period: each change is judged by every scan in that hour, so a few failed scans
   * miss nothing, and a scan reads about an hour of orders.
   */
  SAFETY_NET_MONEY_LOOKBACK_SECONDS: seconds(defaultMoneyLookbackSeconds),
  /** A refund still not final after this long goes to an operator. */
  REFUND_FINAL_WITHIN_SECONDS: seconds(24 * 3600),
});

function isProxyAddress(text: string): boolean {
  if (['loopback', 'linklocal', 'uniquelocal'].includes(text)) return true;
  const [address = '', prefix, ...rest] = text.split('/');
  const version = isIP(address);
  if (version === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (version === 4 ? 32 : 128);
}

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** What a live process needs set, and must not have set, beyond its channels' credentials. */
const liveRequirements = {
  required: {
    PAYCENTER_SECRET_KEY: 'seals notify secrets; live mode never generates it',
    CASHIER_TOKEN_SECRET: 'signs cashier links; live mode never derives it',
    PUBLIC_API_URL: 'the address payers and channels reach; live mode has no localhost default',
    DATABASE_URL: "live mode's own database; never the demo's local or embedded one",
    TEMPORAL_ADDRESS: 'a Temporal cluster; live mode never starts or assumes a local one',
  },
  forbidden: {
    PAYCENTER_DEMO_API_KEY: 'the demo merchant exists only in test mode',
  },
};

/**
 * Test and live workers never share a task queue, whatever the namespace: live queues end in
 * `-live`, test queues never do.
 */
const liveQueueSuffix = '-live';

/** Why a test process must not start with this configuration, one line each. */
function testModeProblems(c: z.infer<typeof configSchema>): string[] {
  const { ALIPAY_GATEWAY_URL, WECHATPAY_BASE_URL, BANKCARD_GATEWAY_URL } = c;
  const problems = productionGatewayProblems({
    ALIPAY_GATEWAY_URL,
    WECHATPAY_BASE_URL,
    BANKCARD_GATEWAY_URL,
  });
  if (c.TEMPORAL_TASK_QUEUE?.endsWith(liveQueueSuffix)) {
    problems.push(`TEMPORAL_TASK_QUEUE "${c.TEMPORAL_TASK_QUEUE}" is a live queue (*-live)`);
  }
  return problems;
}

/** Why a live process must not start with this environment, one line each; none when it may. */
function liveModeProblems(
  c: z.infer<typeof configSchema>,
  isSet: (variable: string) => boolean,
): string[] {
  const { required, forbidden } = liveRequirements;
  const queue = c.TEMPORAL_TASK_QUEUE;
  return [
    ...(queue && !queue.endsWith(liveQueueSuffix)
      ? [
          `TEMPORAL_TASK_QUEUE "${queue}" must end in ${liveQueueSuffix}: test workers poll the others`,
        ]
      : []),
    ...Object.entries(required)
      .filter(([variable]) => !isSet(variable))
      .map(([variable, why]) => `${variable} is required: ${why}`),
    ...Object.entries(forbidden)
      .filter(([variable]) => isSet(variable))
      .map(([variable, why]) => `${variable} must not be set: ${why}`),
    ...liveCredentialProblems(isSet),
  ];
}

const temporalSecurityVariables = [
  'TEMPORAL_TLS',
  'TEMPORAL_TLS_SERVER_CA_CERT_PATH',
  'TEMPORAL_TLS_CLIENT_CERT_PATH',
  'TEMPORAL_TLS_CLIENT_KEY_PATH',
  'TEMPORAL_TLS_SERVER_NAME',
  'TEMPORAL_API_KEY',
  'TEMPORAL_API_KEY_FILE',
] as const satisfies readonly (keyof TemporalSecuritySettings)[];

/**
 * How TEMPORAL_ADDRESS is reached, its files read now so a bad one stops the start; a live
 * process reaches a cluster off this machine over TLS unless TEMPORAL_TLS=false says the network
 * is encrypted by other means (a service mesh).
 */
function temporalSecurityOf(c: z.infer<typeof configSchema>, live: boolean) {
  const set = temporalSecurityVariables.filter((variable) => c[variable] !== undefined);
  if (!c.TEMPORAL_ADDRESS) {
    const problems =
      set.length === 0 || live
        ? []
        : [
            `${set.join(', ')} set how TEMPORAL_ADDRESS is reached, but it is unset (the local dev server is plaintext)`,
          ];
    return { security: plaintextTemporal, problems };
  }
  const { security, problems } = readTemporalSecurity(c);
  if (
    live &&
    problems.length === 0 &&
    !security.tls &&
    c.TEMPORAL_TLS !== false &&
    !isLoopbackAddress(c.TEMPORAL_ADDRESS)
  ) {
    problems.push(
      `TEMPORAL_ADDRESS ${c.TEMPORAL_ADDRESS} would be reached over plaintext: set TEMPORAL_TLS=true or TEMPORAL_TLS_* (or TEMPORAL_API_KEY), or TEMPORAL_TLS=false where the network itself is encrypted`,
    );
  }
  return { security, problems };
}

export type Config = Omit<z.infer<typeof configSchema>, 'TEMPORAL_TASK_QUEUE'> & {
  TEMPORAL_TASK_QUEUE: string;
  /** How TEMPORAL_ADDRESS is reached: its TLS files read and checked at start. */
  temporalSecurity: TemporalSecurity;
  publicApiUrl: string;
  webhookBaseUrl: string;
  /** The Temporal UI operators open workflows in, when known (TEMPORAL_UI_URL). */
  temporalUiUrl: string | undefined;
  simulatorUrl: string;
  simulatorDataFile: string;
};

export class ConfigError extends Error {}

/**
 * The simulator's variables were SANDBOX_URL, SANDBOX_HOST, SANDBOX_PORT, SANDBOX_DATA_FILE and
 * SANDBOX_NOTIFY_RETRY_SECONDS before "sandbox" came to name the test channel alone; a deployment
 * that still sets an old name gets it under the new one (the new one wins when both are set).
 */
const renamedVariables = {
  SANDBOX_URL: 'SIMULATOR_URL',
  SANDBOX_HOST: 'SIMULATOR_HOST',
  SANDBOX_PORT: 'SIMULATOR_PORT',
  SANDBOX_DATA_FILE: 'SIMULATOR_DATA_FILE',
  SANDBOX_NOTIFY_RETRY_SECONDS: 'SIMULATOR_NOTIFY_RETRY_SECONDS',
} as const;

function withRenamedVariables(env: Record<string, string | undefined>) {
  const renamed = { ...env };
  for (const [before, now] of Object.entries(renamedVariables)) {
    if (renamed[now] === undefined && renamed[before] !== undefined) renamed[now] = renamed[before];
    delete renamed[before];
  }
  return renamed;
}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // An empty variable means "not set", so it takes the default rather than becoming 0 or "".
  const present = withRenamedVariables(
    Object.fromEntries(Object.entries(env).filter(([, value]) => value !== '')),
  );
  const parsed = configSchema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const c = parsed.data;
  const live = c.PAYCENTER_MODE === 'live';
  const temporal = temporalSecurityOf(c, live);
  const problems = [
    ...(live
      ? liveModeProblems(c, (variable) => (present[variable] ?? '').trim() !== '')
      : testModeProblems(c)),
    ...temporal.problems,
  ];
  if (problems.length > 0) {
    throw new ConfigError(
      `${live ? 'Live' : 'Test'} mode refuses to start:\n${problems.map((p) => `  ${p}`).join('\n')}`,
    );
  }
  const publicApiUrl = c.PUBLIC_API_URL ?? `http://localhost:${c.API_PORT}`;
  return {
    ...c,
    TEMPORAL_TASK_QUEUE:
      c.TEMPORAL_TASK_QUEUE ?? (live ? `payments${liveQueueSuffix}` : 'payments'),
    temporalSecurity: temporal.security,
    publicApiUrl,
    webhookBaseUrl: c.PUBLIC_WEBHOOK_URL ?? `${publicApiUrl}/webhooks`,
    temporalUiUrl:
      c.TEMPORAL_UI_URL ??
      (c.TEMPORAL_ADDRESS ? undefined : `http://localhost:${c.TEMPORAL_UI_PORT}`),
    simulatorUrl: c.SIMULATOR_URL ?? `http://localhost:${c.SIMULATOR_PORT}`,
    simulatorDataFile: c.SIMULATOR_DATA_FILE ?? path.join(c.DATA_DIR, 'sandbox-journal.jsonl'),
  };
}
