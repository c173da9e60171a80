// `npm run bench`: how fast paycenter is, beside the engine's own ceiling on the same Temporal
// server in the same run. Starts everything it needs, measures after a warm-up, prints a table
// and writes bench/results/<time>.json. Not part of `npm test`.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { loadConfig } from '../src/config';
import { runCeiling } from './ceiling';
import { payOnce, runPayments, type Journey, type PaymentDriver } from './e2e';
import { closeIdleSockets } from './http';
import { startMerchantReceiver, type MerchantReceiver } from './merchantReceiver';
import { runOpenPayments } from './openPayments';
import { runReconcileAtScale, type ReconcileResult } from './reconcile';
import { parseOptions, type Phase } from './options';
import { format, table, writeResult, type Row } from './report';
import { startStack, type Stack } from './stack';
import { whereTimeGoes } from './timeShare';
import { measureAcks } from './webhooks';
import { freePort } from '../test/support/ports';

const root = path.resolve(__dirname, '..');

function packageVersion(name: string): string {
  return JSON.parse(readFileSync(path.join(root, 'node_modules', name, 'package.json'), 'utf8'))
    .version;
}

/** Paycenter configuration the operator set for this run (worker tuning, pool sizes). */
function tuningFromEnv(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(process.env).filter(
      (e): e is [string, string] =>
        /^(WORKER_|DATABASE_POOL_SIZE|API_)/.test(e[0]) && e[1] !== undefined,
    ),
  );
}

function log(line: string) {
  console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`);
}

async function main() {
  const options = parseOptions(process.argv.slice(2));
  const tuning = tuningFromEnv();
  const runId = randomBytes(3).toString('hex');
  const sandboxConfig = loadConfig({});
  let stack: Stack | undefined;
  let receiver: MerchantReceiver | undefined;
  let connection: Connection | undefined;
  try {
    const shape = options.cluster
      ? 'the Temporal server on PostgreSQL, PostgreSQL database, sandbox, 2 workers and 2 APIs'
      : 'Temporal dev server, PostgreSQL database, sandbox, worker and API';
    log(`starting ${shape} (${JSON.stringify(options)})`);
    stack = await startStack({
      logLevel: options.logLevel,
      querySchedule: `${options.firstQuerySeconds},600`,
      tuningEnv: tuning,
      temporalInMemory: options.temporalInMemory,
      temporalPragmas: options.temporalPragmas,
      cluster: options.cluster,
    });
    const sandbox = await stack.start('sandbox');
    const processes = options.cluster ? 2 : 1;
    const workers = [];
    for (let i = 0; i < processes; i++) workers.push(await stack.start('worker'));
    const apis = [await stack.start('api')];
    while (apis.length < processes) {
      apis.push(await stack.start('api', { API_PORT: String(await freePort()) }));
    }
    const api = apis[0]!;
    receiver = await startMerchantReceiver();
    connection = await Connection.connect({ address: stack.temporalAddress });
    const client = new Client({ connection });
    const driver: PaymentDriver = {
      apiUrls: apis.map((a) => a.url!),
      sandboxUrl: sandbox.url!,
      apiKey: stack.apiKey,
      receiver,
      runId,
    };
    const db = stack.database.db;

    const has = (phase: Phase) => options.phases.includes(phase);
    const pick = <T>(items: T[]) => {
      const step = Math.max(1, Math.floor(items.length / Math.min(options.sample, 100)));
      return items.filter((_, i) => i % step === 0).slice(0, 100);
    };

    let fixed, saturated, timeAtRate, timeAtSaturation;
    if (has('e2e')) {
      log(`warm-up: ${options.warmup} payments`);
      await runPayments(driver, db, { mode: 'saturation', count: options.warmup, concurrency: 8 });
      log(`e2e at a fixed rate: ${options.rate}/s for ${options.rateSeconds}s`);
      fixed = await runPayments(driver, db, {
        mode: 'fixed-rate',
        count: options.rate * options.rateSeconds,
        perSecond: options.rate,
      });
      log(`e2e at saturation: ${options.payments} payments, ${options.concurrency} at a time`);
      saturated = await runPayments(driver, db, {
        mode: 'saturation',
        count: options.payments,
        concurrency: options.concurrency,
      });
      log('where time goes: reading workflow histories');
      timeAtRate = await whereTimeGoes(client, pick(fixed.journeys));
      timeAtSaturation = await whereTimeGoes(client, pick(saturated.journeys));
    }

    let ceiling;
    if (has('ceiling')) {
      log(`ceiling: bare workflow, ${options.payments} runs, ${options.concurrency} at a time`);
      const bareQueue = 'bare-bench';
      const bareWorker = await stack.start('bare-worker', { TEMPORAL_TASK_QUEUE: bareQueue });
      await runCeiling(client, bareQueue, `${runId}w`, { count: options.warmup, concurrency: 8 });
      ceiling = await runCeiling(client, bareQueue, runId, {
        count: options.payments,
        concurrency: options.concurrency,
      });
      await bareWorker.stop();
    }

    let acks, bareAcks;
    if (has('webhooks')) {
      // Open orders: a notification for one must reach its workflow (a repeat of a success for
      // a paid order is acknowledged from the books alone and would measure less).
      log('opening 200 orders for the notifications to refer to');
      const open: Journey[] = [];
      for (let i = 0; i < 200; i += 8) {
        const batch = Array.from({ length: 8 }, () =>
          payOnce(driver, { expiresInSeconds: 3600, payerPays: false }),
        );
        open.push(...(await Promise.all(batch)));
      }
      log(
        `webhook acks: ${options.webhookRate}/s for ${options.webhookSeconds}s, paycenter then bare`,
      );
      const sandboxKeys = {
        appId: sandboxConfig.SANDBOX_APP_ID,
        secret: sandboxConfig.SANDBOX_SECRET,
      };
      const warm = { perSecond: options.webhookRate, seconds: 2 };
      const load = { perSecond: options.webhookRate, seconds: options.webhookSeconds };
      const paycenterTarget = { name: 'paycenter /webhooks/sandbox', url: api.url! };
      await measureAcks(paycenterTarget, open, sandboxKeys, warm);
      acks = await measureAcks(paycenterTarget, open, sandboxKeys, load);
      const bareRoute = await stack.start('bare-route', { API_PORT: String(await freePort()) });
      const bareTarget = { name: 'bare Fastify route', url: bareRoute.url! };
      await measureAcks(bareTarget, open, sandboxKeys, warm);
      bareAcks = await measureAcks(bareTarget, open, sandboxKeys, load);
      await bareRoute.stop();
    }

    // Before the open payments, whose timers would keep the worker and Temporal busy meanwhile.
    let reconcile;
    if (has('reconcile')) {
      log(`reconciliation at scale: statements of ${options.reconcileLines.join(' and ')} lines`);
      reconcile = await runReconcileAtScale(stack, client, sandbox.url!, {
        sizes: options.reconcileLines,
        log,
      });
    }

    let open;
    if (has('open')) {
      log(`open payments: ${options.open}, then wait for their first queries`);
      open = await runOpenPayments(
        stack,
        driver,
        client,
        workers.map((w) => w.pid),
        {
          count: options.open,
          concurrency: options.openConcurrency,
          firstQuerySeconds: options.firstQuerySeconds,
          sample: options.sample,
        },
      );
    }

    const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;
    const result = {
      label: options.label,
      at: new Date().toISOString(),
      machine: {
        cores: os.cpus().length,
        cpu: os.cpus()[0]?.model,
        memoryGiB: Math.round(os.totalmem() / 2 ** 30),
        loadAverageAtEnd: os.loadavg(),
      },
      versions: {
        node: process.version,
        temporalSdk: packageVersion('@temporalio/worker'),
        temporal: stack.temporalVersion,
        fastify: packageVersion('fastify'),
        postgresJs: packageVersion('postgres'),
        drizzle: packageVersion('drizzle-orm'),
      },
      parameters: { ...options, querySchedule: stack.env.QUERY_SCHEDULE_SECONDS, tuning },
      e2e:
        fixed && saturated ? { fixedRate: fixed.result, saturation: saturated.result } : undefined,
      ceiling,
      throughputRatio:
        saturated && ceiling ? ratio(saturated.result.perSecond, ceiling.perSecond) : undefined,
      webhooks:
        acks && bareAcks
          ? { paycenter: acks, bare: bareAcks, p99Ratio: ratio(acks.ackMs.p99, bareAcks.ackMs.p99) }
          : undefined,
      openPayments: open,
      whereTimeGoes: timeAtRate
        ? { atFixedRate: timeAtRate, atSaturation: timeAtSaturation }
        : undefined,
      merchantDeliveries: receiver.deliveries,
      reconcile,
    };
    const file = writeResult(root, result);
    printReport(result);
    console.log(`\nwritten to ${path.relative(root, file)}`);
  } finally {
    await connection?.close().catch(() => {});
    await receiver?.stop().catch(() => {});
    closeIdleSockets();
    log('stopping everything');
    await stack?.stop();
  }
}

function printReport(r: any) {
  const { lat, mib, kib } = format;
  const e2e = (x: any): Row[] => [
    ['payments/s', `${x.perSecond} (${x.completed} done, ${x.failed} failed, ${x.seconds}s)`],
    ['create → SUCCEEDED', lat(x.createToSucceededMs)],
    ['channel success → merchant notified', lat(x.channelSuccessToNotifiedMs)],
    ['create → merchant notified', lat(x.createToNotifiedMs)],
  ];
  const temporal = r.versions.temporal.split('\n')[0];
  const shape = r.parameters.cluster ? 'cluster: 2 workers, 2 APIs' : 'dev server: 1 worker, 1 API';
  console.log(`\npaycenter bench ${r.label} — ${r.machine.cores} cores, node ${r.versions.node}`);
  console.log(`Temporal SDK ${r.versions.temporalSdk}, ${temporal} (${shape})`);
  if (r.e2e) {
    const { fixedRate, saturation } = r.e2e;
    console.log(table(`1. e2e, open loop at ${fixedRate.offeredPerSecond}/s`, e2e(fixedRate)));
    console.log(
      table(`1. e2e at saturation (${saturation.concurrency} at a time)`, e2e(saturation)),
    );
  }
  if (r.ceiling) {
    const c = r.ceiling;
    const share =
      r.throughputRatio === undefined ? 'n/a' : `${Math.round(r.throughputRatio * 100)}%`;
    console.log(
      table('2. ceiling: bare workflow of the same shape, no-op activities', [
        ['runs/s', `${c.perSecond} (${c.completed} done, ${c.failed} failed, ${c.seconds}s)`],
        ['start → child done', lat(c.startToNotifiedMs)],
        ['paycenter / ceiling', `${share} (target ≥ 60%)`],
      ]),
    );
  }
  if (r.webhooks) {
    const { paycenter, bare } = r.webhooks;
    console.log(
      table(`2. webhook ack at ${paycenter.perSecond}/s, from each one's due time`, [
        ['paycenter', `${lat(paycenter.ackMs)}, ${paycenter.failed} failed`],
        ['bare Fastify route', `${lat(bare.ackMs)}, ${bare.failed} failed`],
        ['p99 paycenter / bare', `${r.webhooks.p99Ratio}× (target: paycenter p99 ≤ 25 ms)`],
        ['driver send lag (paycenter run)', lat(paycenter.sendLagMs)],
      ]),
    );
  }
  const o = r.openPayments;
  if (o) {
    console.log(
      table(`3. open payments (${o.open} open, ${o.failed} failed, made in ${o.createSeconds}s)`, [
        [
          `${r.parameters.cluster ? 'RSS of both workers' : 'worker RSS'} before / after / peak`,
          `${mib(o.workerRssBefore)} / ${mib(o.workerRssAfter)} / ${mib(o.workerPeakRss)} (target < 1024 MiB)`,
        ],
        ['Temporal disk per open payment', kib(o.temporalBytesPerPayment)],
        ['PostgreSQL disk per open payment', kib(o.postgresBytesPerPayment)],
        [
          'query timer lateness',
          `${lat(o.queryLatenessMs)}, ${o.sampledOrders} orders (target p99 ≤ 2000 ms)`,
        ],
      ]),
    );
  }
  if (r.reconcile) printReconcile(r.reconcile);
  for (const [name, t] of Object.entries<any>(r.whereTimeGoes ?? {})) {
    const rows = t.parts.map((p: any): Row => [
      p.label,
      `${(p.share * 100).toFixed(1)}%  (${p.meanMs} ms)`,
    ]);
    console.log(
      table(`4. where time goes, ${name}: ${t.sampled} payments, mean ${t.meanTotalMs} ms`, rows),
    );
  }
}

function printReconcile(r: ReconcileResult) {
  const rows = r.runs.map((run): Row => {
    const correct =
      run.missedCount === 0 && run.inventedCount === 0
        ? 'all found, none invented'
        : `${run.missedCount} missed, ${run.inventedCount} invented`;
    const planted = Object.values(run.planted).reduce((a, b) => a + (b ?? 0), 0);
    const peak = `${format.mib(run.workerPeakRss)}${run.peakResetBeforeRun ? '' : ' (since start)'}`;
    const matched =
      run.matchedPayments === run.expectedMatchedPayments &&
      run.matchedRefunds === run.expectedMatchedRefunds
        ? ''
        : `; matched ${run.matchedPayments}/${run.expectedMatchedPayments} payments, ${run.matchedRefunds}/${run.expectedMatchedRefunds} refunds`;
    const parts = Object.entries(run.secondsBy)
      .filter(([, s]) => s >= 0.5)
      .sort((a, b) => b[1] - a[1])
      .map(([label, s]) => `${label.replace(/^activity: /, '')} ${s}`)
      .join(', ');
    return [
      `${run.channel} ${run.lines} lines`,
      `${run.seconds} s, worker peak ${peak}, ${planted} planted: ${correct}${matched}\n    (${parts})`,
    ];
  });
  for (const [channel, cost] of Object.entries(r.costRatio)) {
    rows.push([
      `${channel} cost ratio`,
      `${cost}× for ${r.sizeRatio}× the lines (linear ≈ ${r.sizeRatio})`,
    ]);
  }
  console.log(
    table('5. reconciliation at scale (target: 1,000,000 lines ≤ 120 s, ≤ 1024 MiB)', rows),
  );
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
