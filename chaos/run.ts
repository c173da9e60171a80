// `npm run chaos [-- --seed N] [--quick] [--no-sandbox-kills] [--keep]`: runs paycenter as a deployment
// does (separate processes, its own PostgreSQL and Temporal), drives seeded payment traffic while
// killing and pausing its parts, waits for every order to settle, and audits the money.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { businessDayOf } from '../src/domain/businessDay';
import { temporalCliPath } from '../bench/stack';
import { audit, watchSettling, type Violation } from './audit';
import { startCluster, restart, type Cluster, type Part } from './cluster';
import { injectFaults } from './faults';
import {
  exchange,
  merchantClient,
  startMerchantReceiver,
  type MerchantClient,
  type RequestCounters,
} from './merchant';
import { newSeed, seededRandom } from './random';
import { report } from './report';
import { drawOrder, runScenario, type OrderRecord } from './scenarios';

const { values } = parseArgs({
  options: {
    seed: { type: 'string' },
    quick: { type: 'boolean', default: false },
    /** The sandbox keeps its trades in a journal; this leaves it alone, to tell its faults apart. */
    'no-sandbox-kills': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
  },
  strict: true,
});

const quick = values.quick;
const seed = values.seed !== undefined ? Number(values.seed) : newSeed();
if (!Number.isInteger(seed) || seed < 0) throw new Error('--seed must be a non-negative integer');
const plan = quick
  ? { trafficSeconds: 60, orders: 80, concurrency: 60, faultGapMs: 6_000, settleSeconds: 150 }
  : { trafficSeconds: 420, orders: 560, concurrency: 110, faultGapMs: 9_000, settleSeconds: 300 };
const command = [
  'npm run chaos --',
  `--seed ${seed}`,
  quick ? '--quick' : '',
  values['no-sandbox-kills'] ? '--no-sandbox-kills' : '',
]
  .filter(Boolean)
  .join(' ');

/** Short schedules, so that a run settles in minutes (src/config.ts). */
const paycenterEnv: Record<string, string> = {
  LOG_LEVEL: 'warn',
  API_RATE_LIMIT_PER_MINUTE: '1000000',
  NOTIFY_URL_ALLOWED_HOSTS: '127.0.0.1',
  DATABASE_POOL_SIZE: '5',
  IDEMPOTENCY_LEASE_SECONDS: '10',
  CHANNEL_TIMEOUT_MS: '3000',
  SYNC_PAY_WAIT_SECONDS: '5',
  // Below the merchant's 30 s patience per try, so that a held request is answered 503.
  UPDATE_WAIT_SECONDS: '20',
  QUERY_SCHEDULE_SECONDS: '2,3,5,8',
  QUERY_RARE_SECONDS: '15',
  LATE_WINDOW_SECONDS: '60',
  SIMULATOR_NOTIFY_RETRY_SECONDS: '1,2,4,8,15,30',
  ALIPAY_NOTIFY_RETRY_SECONDS: '1,2,4,8,15,30',
  WECHATPAY_NOTIFY_RETRY_SECONDS: '1,2,4,8,15,30',
  BANKCARD_NOTIFY_RETRY_SECONDS: '1,2,4,8,15,30',
  MERCHANT_NOTIFY_RETRY_SECONDS: '1,2,4,8,10,10,10,10,10,10,10,10',
  MERCHANT_NOTIFY_TIMEOUT_MS: '3000',
  SAFETY_NET_INTERVAL_SECONDS: '30',
  SAFETY_NET_GRACE_SECONDS: '60',
  REFUND_FINAL_WITHIN_SECONDS: '120',
};

const t0 = Date.now();
const log = (line: string) =>
  console.log(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s] ${line}`);

let stopping = false;
let cluster: Cluster | undefined;
let runDir: string | undefined;

/** Stops every part and removes the run's folder (unless --keep). */
async function tearDown() {
  stopping = true;
  await cluster?.stop();
  if (runDir && !values.keep) rmSync(runDir, { recursive: true, force: true });
}
const crashes: { part: string; how: string; at: string }[] = [];

function onCrash(part: Part, how: string) {
  crashes.push({ part: part.name, how, at: new Date().toISOString() });
  log(`${part.name} exited on its own (${how}); restarting it`);
  setTimeout(() => void restart(part, () => stopping, log), 1000);
}

/** Reads `<label>: <value>` from a command's output. */
function printedValue(output: string, label: string): string {
  const line = output.split('\n').find((l) => l.startsWith(`${label}:`));
  if (!line) throw new Error(`no "${label}" in:\n${output}`);
  return line.slice(label.length + 1).trim();
}

async function driveTraffic(
  merchants: MerchantClient[],
  ctx: { receiver: Awaited<ReturnType<typeof startMerchantReceiver>>; sandboxUrl: string },
  records: OrderRecord[],
) {
  const random = seededRandom(seed);
  const endAt = Date.now() + plan.trafficSeconds * 1000;
  const gapMs = (plan.trafficSeconds * 1000) / plan.orders;
  const running = new Set<Promise<void>>();
  for (let n = 1; n <= plan.orders && !stopping && Date.now() < endAt; n++) {
    const orderRandom = random.fork(`order:${n}`);
    const merchant = orderRandom.pick(merchants);
    const record = drawOrder(n, orderRandom, merchant.merchantId);
    while (running.size >= plan.concurrency) await Promise.race(running);
    record.startedAt = Date.now();
    records.push(record);
    const script = runScenario({ ...ctx, merchant, random: orderRandom, record }).finally(() =>
      running.delete(script),
    );
    running.add(script);
    if (n % 50 === 0) log(`traffic: ${n} orders started, ${running.size} running`);
    const wait = Math.min(gapMs, Math.max(0, endAt - Date.now()) / Math.max(1, plan.orders - n));
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
  await Promise.all(running);
}

/** The day's reconciliation of every channel, after the audit: any difference is a finding. */
async function reconcile(cluster: Cluster, opsKey: string): Promise<Violation[]> {
  const days = [...new Set([businessDayOf(new Date(t0)), businessDayOf(new Date())])];
  const found: Violation[] = [];
  for (const channel of ['sandbox', 'alipay', 'wechatpay', 'bankcard']) {
    for (const day of days) {
      const answer = await exchange(
        `${cluster.apiUrls[0]}/ops/reconciliations`,
        'POST',
        { channel, day },
        { authorization: `Bearer ${opsKey}` },
        120_000,
      );
      if (answer.status !== 200) {
        found.push({
          code: 'RECONCILIATION_FAILED',
          message: `${channel} ${day}: HTTP ${answer.status} ${JSON.stringify(answer.body).slice(0, 300)}`,
        });
        continue;
      }
      const items = [
        ...answer.body.forOperators,
        ...answer.body.autoCorrected,
        ...answer.body.held,
      ] as { kind: string; reference: string; payOrderId?: string }[];
      log(
        `reconciliation ${channel} ${day}: ${answer.body.statementLines} lines, ${items.length} differences`,
      );
      for (const item of items) {
        found.push({
          code: 'RECONCILIATION_DIFFERENCE',
          message: `${channel} ${day}: ${item.kind} ${item.reference}`,
          ...(item.payOrderId ? { payOrderId: item.payOrderId, workflowId: item.payOrderId } : {}),
        });
      }
    }
  }
  return found;
}

async function main(): Promise<number> {
  log(`chaos run, seed ${seed} (${quick ? 'quick' : 'full'}); replay with: ${command}`);
  const temporalCli = temporalCliPath();
  if (!temporalCli) throw new Error('no Temporal CLI (scripts/temporal-cli.sh)');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'paycenter-chaos-'));
  runDir = dir;
  const receiver = await startMerchantReceiver();
  try {
    cluster = await startCluster({ dir, paycenterEnv, temporalCli, onCrash, log });
    const counters: RequestCounters = { requests: 0, retries: 0, unanswered: 0, unavailable: {} };
    // Made while the parts warm up: two merchants with their keys, and an ops key.
    const [made, opsOutput] = await Promise.all([
      Promise.all(
        [1, 2].map((i) =>
          cluster!.command(['merchant', 'create', '--name', `Chaos merchant ${i}`]),
        ),
      ),
      cluster.command(['ops-key', 'create', '--name', 'chaos']),
    ]);
    const merchants = made.map((output) =>
      merchantClient(
        printedValue(output, 'Merchant ID'),
        printedValue(output, 'API key'),
        cluster!.apiUrls,
        counters,
      ),
    );
    const opsKey = printedValue(opsOutput, 'Ops key');
    log(
      `merchants ${merchants.map((m) => m.merchantId).join(', ')}; traffic for ${plan.trafficSeconds} s`,
    );

    const records: OrderRecord[] = [];
    const settleDeps = {
      records,
      merchants: new Map(merchants.map((m) => [m.merchantId, m])),
      sandboxUrl: cluster.sandboxUrl,
      databaseUrl: cluster.databaseUrl,
      log,
    };
    const watch = watchSettling(settleDeps);
    const trafficEnd = Date.now() + plan.trafficSeconds * 1000;
    const [faults] = await Promise.all([
      injectFaults({
        cluster,
        random: seededRandom(seed).fork('faults'),
        untilMs: trafficEnd - 10_000,
        meanGapMs: plan.faultGapMs,
        sandboxKills: !values['no-sandbox-kills'],
        stopping: () => stopping,
        log,
      }),
      driveTraffic(merchants, { receiver, sandboxUrl: cluster.sandboxUrl }, records),
    ]);
    log(
      `traffic done: ${records.length} orders; ${faults.length} faults; waiting for them to settle`,
    );
    await watch.finish(Date.now() + plan.settleSeconds * 1000);
    const audited = await audit({ ...settleDeps, faults, receiver, settledAt: watch.settledAt });
    const violations = [...audited.violations, ...(await reconcile(cluster, opsKey))];
    const { text } = report({
      seed,
      mode: quick ? 'quick' : 'full',
      command,
      startedAt: new Date(t0).toISOString(),
      durationSeconds: (Date.now() - t0) / 1000,
      records,
      faults,
      crashes,
      audit: audited,
      violations,
      requests: counters,
      deliveries: receiver.deliveries,
      temporalCli,
    });
    console.log(text);
    return violations.length === 0 ? 0 : 1;
  } finally {
    await tearDown();
    await receiver.stop();
    if (values.keep) log(`kept ${dir} (logs in ${dir}/logs)`);
  }
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping every part`);
    void tearDown().finally(() => process.exit(130));
  });
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    console.error(`seed ${seed}; replay with: ${command}`);
    void tearDown().finally(() => process.exit(2));
  },
);
