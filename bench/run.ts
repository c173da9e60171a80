// `npm run bench`: how fast paycenter is, beside the engine's own ceiling on the same Temporal
// server in the same run. Starts everything it needs, measures after a warm-up, prints a table
// and writes bench/results/<time>.json. Not part of `npm test`.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { loadConfig } from '../src/config';
import { measureBaseline, type BaselineResult } from './baseline';
import { runCeiling } from './ceiling';
import { deltaRows, newestCommittedLike } from './delta';
import { measureE2e, type LoadResult, type PaymentDriver } from './e2e';
import { closeIdleSockets } from './http';
import { runMerchantNotifications, type NotifyResult } from './merchantNotifications';
import { startMerchantReceiver, type MerchantReceiver } from './merchantReceiver';
import { runOpenPayments } from './openPayments';
import { runReconcileAtScale, type ReconcileResult } from './reconcile';
import { parseOptions, type Phase } from './options';
import { format, resultFile, table, writeResult, type Row } from './report';
import { startPaycenter, startStack, stopRunningStacks, type Stack } from './stack';
import type { Latency } from './stats';
import { whereTimeGoes } from './timeShare';
import { ackUnderLoad, ingestSweep, type IngestContext } from './ingest';
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
        /^(WORKER_|DATABASE_POOL_SIZE|API_|INBOX_)/.test(e[0]) && e[1] !== undefined,
    ),
  );
}

function log(line: string) {
  console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`);
}

/** The run's JSON, filled in as each phase ends (bench/results, README "Benchmark"). */
type BenchResult = Record<string, unknown> & { partial?: boolean; failed?: string };

async function main() {
  const options = parseOptions(process.argv.slice(2));
  const tuning = tuningFromEnv();
  const runId = randomBytes(3).toString('hex');
  const sandboxConfig = loadConfig({});
  let stack: Stack | undefined;
  let receiver: MerchantReceiver | undefined;
  let connection: Connection | undefined;

  // Saved after every phase, so a run that fails late keeps what it measured; `partial` until the
  // last phase has ended, and `failed` names the error of a run that did not get there.
  const file = resultFile(root);
  const result: BenchResult = {
    label: options.label,
    at: new Date().toISOString(),
    partial: true,
    parameters: { ...options, tuning },
  };
  const save = (figures: Record<string, unknown>) => {
    Object.assign(result, figures);
    writeResult(file, result);
  };

  let stopping: Promise<void> | undefined;
  const stopEverything = () =>
    (stopping ??= (async () => {
      await connection?.close().catch(() => {});
      await receiver?.stop().catch(() => {});
      closeIdleSockets();
      log('stopping everything');
      await stopRunningStacks();
    })());
  // The first error is the run's: what fails after it (a phase on a stack being stopped) is not.
  const fail = (reason: unknown) => {
    result.failed ??= reason instanceof Error ? (reason.stack ?? reason.message) : String(reason);
    writeResult(file, result);
    log(`failed; what was measured is in ${path.relative(root, file)}`);
  };
  // An error thrown outside the phases' promise chain (a timer's callback, a stream's event) or a
  // signal would end the process without the `finally` below: the Temporal dev server would be
  // left running. Such an error ends the run the same way as one thrown in a phase.
  let abandoned = false;
  const abandon = (reason: unknown) => {
    console.error(reason);
    if (abandoned) return; // a second Ctrl-C, or errors of the stopping stack: already on its way
    abandoned = true;
    fail(reason);
    void stopEverything().finally(() => process.exit(1));
  };
  process.on('uncaughtException', abandon);
  process.on('unhandledRejection', abandon);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => abandon(new Error(`stopped by ${signal}`)));
  }

  try {
    const shape = options.cluster
      ? 'the Temporal server on PostgreSQL, PostgreSQL database, sandbox, 2 workers and 2 APIs'
      : 'Temporal dev server, PostgreSQL database, sandbox, worker and API';
    const stackOptions = {
      logLevel: options.logLevel,
      querySchedule: `${options.firstQuerySeconds},600`,
      tuningEnv: tuning,
      temporalInMemory: options.temporalInMemory,
      temporalPragmas: options.temporalPragmas,
      cluster: options.cluster,
      backgroundPriority: options.backgroundNice !== undefined,
    };
    const processes = options.cluster ? 2 : 1;
    // First, on a stack of its own that is gone before this tree's starts; then this tree's phases
    // run as they do without --baseline (README, "--baseline", on the order).
    let baseline: BaselineResult | undefined;
    if (options.baseline) {
      baseline = await measureBaseline(root, options.baseline, stackOptions, {
        load: options,
        processes,
        runId,
        log,
      });
      closeIdleSockets();
      save({ baseline });
    }
    log(`starting ${shape} (${JSON.stringify(options)})`);
    stack = await startStack(stackOptions);
    save({
      machine: {
        cores: os.cpus().length,
        cpu: os.cpus()[0]?.model,
        memoryGiB: Math.round(os.totalmem() / 2 ** 30),
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
    });
    const { sandbox, workers, apis } = await startPaycenter(stack, processes);
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
    const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;

    /** Payments/s of the e2e phase at saturation, which the ceilings are a share of. */
    let saturatedPerSecond: number | undefined;
    if (has('e2e')) {
      const e2e = await measureE2e(driver, db, options, log);
      saturatedPerSecond = e2e.saturated.result.perSecond;
      save({
        e2e: {
          fixedRate: e2e.fixed.result,
          saturation: e2e.saturated.result,
          loadAverageAtEnd: e2e.loadAverageAtEnd,
        },
        cpuMsPerPaymentAtSaturation: e2e.cpuAtSaturation,
        speedupAtSaturation: baseline
          ? ratio(saturatedPerSecond, baseline.e2e.saturation.perSecond)
          : undefined,
      });
      log('where time goes: reading workflow histories');
      save({
        whereTimeGoes: {
          atFixedRate: await whereTimeGoes(client, pick(e2e.fixed.journeys)),
          atSaturation: await whereTimeGoes(client, pick(e2e.saturated.journeys)),
        },
      });
    }

    if (has('ceiling')) {
      log(`ceiling: bare workflow, ${options.payments} runs, ${options.concurrency} at a time`);
      const bareQueue = 'bare-bench';
      const bareWorker = await stack.start('bare-worker', { TEMPORAL_TASK_QUEUE: bareQueue });
      await runCeiling(client, bareQueue, `${runId}w`, { count: options.warmup, concurrency: 8 });
      const ceiling = await runCeiling(client, bareQueue, runId, {
        count: options.payments,
        concurrency: options.concurrency,
      });
      const load = { count: options.payments, concurrency: options.concurrency };
      log(`current-shape ceiling: ${options.payments} runs, ${options.concurrency} at a time`);
      const warmupOf = { ...load, count: options.warmup };
      await runCeiling(client, bareQueue, `${runId}c`, warmupOf, 'current-shape');
      const currentShapeCeiling = await runCeiling(client, bareQueue, runId, load, 'current-shape');
      log(`minimal ceiling: ${options.payments} runs, ${options.concurrency} at a time`);
      await runCeiling(client, bareQueue, `${runId}m`, warmupOf, 'minimal');
      const minimalCeiling = await runCeiling(client, bareQueue, runId, load, 'minimal');
      await bareWorker.stop();
      save({
        ceiling,
        throughputRatio:
          saturatedPerSecond !== undefined
            ? ratio(saturatedPerSecond, ceiling.perSecond)
            : undefined,
        currentShapeCeiling,
        currentShapeCeilingRatio:
          saturatedPerSecond !== undefined
            ? ratio(saturatedPerSecond, currentShapeCeiling.perSecond)
            : undefined,
        // The most paycenter's shape could reach of the minimal ceiling with no database or HTTP.
        currentShapeOfMinimal: ratio(currentShapeCeiling.perSecond, minimalCeiling.perSecond),
        minimalCeiling,
        minimalCeilingRatio:
          saturatedPerSecond !== undefined
            ? ratio(saturatedPerSecond, minimalCeiling.perSecond)
            : undefined,
      });
    }

    // Before the open payments, whose timers would keep the worker and Temporal busy meanwhile.
    if (has('reconcile')) {
      log(`reconciliation at scale: statements of ${options.reconcileLines.join(' and ')} lines`);
      save({
        reconcile: await runReconcileAtScale(stack, client, sandbox.url!, {
          sizes: options.reconcileLines,
          log,
        }),
      });
    }

    // Also before the open payments, whose timers would make its retries late; its own workflows
    // all end within the phase.
    if (has('notify')) {
      log(
        `merchant notifications at scale: ${options.notifyEvents} events, half the tries answered 500`,
      );
      save({
        notify: await runMerchantNotifications(stack, client, {
          events: options.notifyEvents,
          retrySeconds: options.notifyRetrySeconds,
          concurrency: options.notifyConcurrency,
          waitSeconds: options.notifyWaitSeconds,
          log,
        }),
      });
    }

    // The webhook phases before the open payments too: their acks are measured while the worker
    // and Temporal pay the notifications' own orders, not while thousands of query timers fire
    // (a load of its own, which the open phase measures). The orders they pay then wait out their
    // late window (a timer hours away), so the open phase's "worker RSS before" includes them.
    const ingestContext: IngestContext = {
      driver,
      db,
      databaseUrl: stack.env.DATABASE_URL!,
      api,
      workers,
      sandbox: { appId: sandboxConfig.SANDBOX_APP_ID, secret: sandboxConfig.SANDBOX_SECRET },
      handOverTimeoutSeconds: options.handOverTimeoutSeconds,
      log,
    };
    const children: Stack = stack;
    if (has('webhooks')) {
      const webhooks = await ackUnderLoad(ingestContext, {
        perSecond: options.webhookRate,
        seconds: options.webhookSeconds,
        startBareRoute: async () =>
          children.start('bare-route', { API_PORT: String(await freePort()) }),
      });
      save({ webhooks });
    }

    if (has('ingest')) {
      save({
        ingest: await ingestSweep(ingestContext, {
          rates: options.ingestRates,
          seconds: options.ingestSeconds,
          orders: options.ingestOrders,
        }),
      });
    }

    if (has('open')) {
      log(`open payments: ${options.open}, then wait for their first queries`);
      save({
        openPayments: await runOpenPayments(
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
        ),
      });
    }

    const machine = result.machine as Record<string, unknown>;
    save({
      machine: { ...machine, loadAverageAtEnd: os.loadavg() },
      merchantDeliveries: receiver.deliveries,
      partial: undefined,
    });
    printReport(result);
    const previous = newestCommittedLike(root, result);
    if (previous) {
      const rows = deltaRows(previous.result, result);
      if (rows.length > 0) console.log(table(`beside ${previous.file} (same parameters)`, rows));
    } else {
      console.log('\nno committed result with the same parameters to compare with');
    }
    console.log(`\nwritten to ${path.relative(root, file)}`);
  } catch (err) {
    fail(err);
    throw err;
  } finally {
    await stopEverything();
  }
}

const loadOf = (l: any) =>
  `API ${l.apiCores} cores (${l.apiCpuMsPerNotification ?? '-'} ms CPU a notification), worker ${l.workerCores} cores, load average ${l.loadAverage.toFixed(1)}` +
  (l.postgresCommitMs
    ? `; PostgreSQL one-row commit p50 ${l.postgresCommitMs.p50} / p99 ${l.postgresCommitMs.p99} / max ${l.postgresCommitMs.max} ms` +
      probeFailures(l.postgresCommitMs)
    : '') +
  (l.postgresUnflushedCommitMs
    ? `; without waiting for the flush p50 ${l.postgresUnflushedCommitMs.p50} / p99 ${l.postgresUnflushedCommitMs.p99} / max ${l.postgresUnflushedCommitMs.max} ms` +
      probeFailures(l.postgresUnflushedCommitMs)
    : '') +
  (l.pressure
    ? `; stalled on CPU ${l.pressure.cpuSome}% of the time, on the disk ${l.pressure.ioSome}% (all tasks ${l.pressure.ioFull}%)`
    : '') +
  (l.apiPauses ? `; ${apiPausesOf(l.apiPauses)}` : '');

const probeFailures = (probe: any) =>
  probe.failed ? ` (${probe.failed} failed: ${probe.firstError})` : '';

const apiPausesOf = (p: any) =>
  `API event loop late p50 ${p.eventLoopDelayMs.p50} / p99 ${p.eventLoopDelayMs.p99} / max ${p.eventLoopDelayMs.max} ms, GC ` +
  Object.entries<{ count: number; ms: number }>(p.gc)
    .filter(([, g]) => g.count > 0)
    .map(([kind, g]) => `${kind} ${g.count}× ${g.ms} ms`)
    .join(', ');

const handedOver = (h: any) =>
  `${h.stored} stored, ${h.notHandedOver} not handed over after ${h.secondsToHandOver}s` +
  ` (${Object.entries<number>(h.byStatus)
    .map(([status, n]) => `${status} ${n}`)
    .join(', ')})` +
  (h.ordersNotSucceeded ? `, ${h.ordersNotSucceeded} orders not paid` : '');

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
  if (r.cpuMsPerPaymentAtSaturation) {
    const { byPart, total } = r.cpuMsPerPaymentAtSaturation as {
      byPart: Record<string, number>;
      total: number;
    };
    console.log(
      table('1. CPU per payment at saturation (ms, /proc utime+stime)', [
        ...Object.entries(byPart).map(([part, ms]): Row => [part, `${ms} ms`]),
        ['all', `${total} ms`],
      ]),
    );
  }
  if (r.baseline) printBaseline(r);
  const ceiling = (title: string, c: any, done: string, rows: Row[]) =>
    console.log(
      table(title, [
        ['runs/s', `${c.perSecond} (${c.completed} done, ${c.failed} failed, ${c.seconds}s)`],
        [done, lat(c.startToNotifiedMs)],
        ...(c.cpuMsPerRun ? [cpuPerRun(c.cpuMsPerRun)] : []),
        ...rows,
      ]),
    );
  const cpuPerRun = (cpu: { byPart: Record<string, number>; total: number }): Row => [
    'CPU per run',
    `${cpu.total} ms (${Object.entries(cpu.byPart)
      .map(([part, ms]) => `${part} ${ms}`)
      .join(', ')})`,
  ];
  const percent = (share: number | undefined) =>
    share === undefined ? 'n/a' : `${Math.round(share * 100)}%`;
  if (r.ceiling) {
    ceiling(
      '2. ceiling: bare workflow of the same shape, no-op activities',
      r.ceiling,
      'start → child done',
      [['paycenter / ceiling', `${percent(r.throughputRatio)} (target ≥ 60%)`]],
    );
  }
  if (r.currentShapeCeiling) {
    ceiling(
      "2. current-shape ceiling: paycenter's workflow now, no-op activities, no database or HTTP",
      r.currentShapeCeiling,
      'start → first delivery try done',
      [
        ['paycenter / current-shape ceiling', percent(r.currentShapeCeilingRatio)],
        [
          'current-shape / minimal ceiling',
          `${percent(r.currentShapeOfMinimal)} (the most paycenter's shape could reach of the minimal ceiling)`,
        ],
      ],
    );
  }
  if (r.minimalCeiling) {
    ceiling(
      '2. minimal ceiling: start, one Update with one activity, one signal, complete',
      r.minimalCeiling,
      'start → completed',
      [['paycenter / minimal ceiling', `${percent(r.minimalCeilingRatio)} (target ≥ 70%)`]],
    );
  }
  if (r.webhooks) {
    const { paycenter, bare, load, handOver, settled } = r.webhooks;
    console.log(
      table(
        `2. webhook ack at ${paycenter.perSecond}/s, TRADE_SUCCESS for distinct open orders, from each one's due time`,
        [
          ['paycenter', `${lat(paycenter.ackMs)}, ${paycenter.failed} failed`],
          ['bare Fastify route', `${lat(bare.ackMs)}, ${bare.failed} failed`],
          ...(r.webhooks.bareUnderLoad
            ? [
                [
                  `bare route meanwhile, ${r.webhooks.bareUnderLoad.perSecond}/s`,
                  `${lat(r.webhooks.bareUnderLoad.ackMs)}, ${r.webhooks.bareUnderLoad.failed} failed (the machine's own answer time under that load)`,
                ] as Row,
              ]
            : []),
          ['p99 paycenter / bare', `${r.webhooks.p99Ratio}× (target: paycenter p99 ≤ 25 ms)`],
          ['driver send lag (paycenter run)', lat(paycenter.sendLagMs)],
          ['load meanwhile', loadOf(load)],
          ['handed over', handedOver(handOver)],
          [
            'orders paid',
            `${settled.ordersNotSucceeded === 0 ? 'all' : `${settled.ordersNotSucceeded} not`} ${settled.secondsToHandOver}s after that`,
          ],
        ],
      ),
    );
  }
  if (r.ingest) {
    const rows = r.ingest.map((step: any): Row => [
      `${step.ack.perSecond}/s`,
      `${lat(step.ack.ackMs)}, ${step.ack.failed} failed; ${handedOver(step.handOver)}; ${loadOf(step.load)}; send lag p99 ${step.ack.sendLagMs.p99} ms; ${step.meetsTarget ? 'meets' : 'misses'} the target`,
    ]);
    console.log(
      table(
        `2b. webhook ingest sweep, ${r.parameters.ingestSeconds}s each, ${r.parameters.ingestOrders} orders a rate (target ≥ 1000/s with p99 ≤ 50 ms, none lost)`,
        rows,
      ),
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
        ...(o.temporalBytesPerOpenFloor
          ? ([
              [
                '  the engine floor: an open workflow waiting on one timer',
                kib(o.temporalBytesPerOpenFloor),
              ],
            ] as Row[])
          : []),
        ['PostgreSQL disk per open payment', kib(o.postgresBytesPerPayment)],
        [
          'query timer lateness',
          `${lat(o.queryLatenessMs)}, ${o.sampledOrders} orders (target p99 ≤ 2000 ms)`,
        ],
        ...(o.queryLatenessParts
          ? ([
              ['  of it: the timer firing', lat(o.queryLatenessParts.timerFiringMs)],
              ['  the workflow task', lat(o.queryLatenessParts.workflowTaskMs)],
              ...(o.queryLatenessParts.workflowTaskWaitMs
                ? ([
                    ['    waiting for a worker', lat(o.queryLatenessParts.workflowTaskWaitMs)],
                    [
                      '    from its start to its completion',
                      lat(o.queryLatenessParts.workflowTaskRunMs),
                    ],
                  ] as Row[])
                : []),
              ['  the activity dispatch', lat(o.queryLatenessParts.activityDispatchMs)],
            ] as Row[])
          : []),
      ]),
    );
  }
  if (r.reconcile) printReconcile(r.reconcile);
  if (r.notify) printNotify(r.notify);
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

/** The old shape's e2e figures beside this tree's, measured in the same run: old → now. */
function printBaseline(r: any) {
  const b: BaselineResult = r.baseline;
  const now = r.e2e;
  const runs = (old: LoadResult, head: LoadResult) =>
    `${old.perSecond} → ${head.perSecond} (${old.failed} → ${head.failed} failed)`;
  const lat = (old: Latency, head: Latency) =>
    (['p50', 'p95', 'p99'] as const).map((p) => `${p} ${old[p]} → ${head[p]}`).join(' / ') + ' ms';
  const speedup = r.speedupAtSaturation;
  const named = b.commit.startsWith(b.ref) ? b.ref : `${b.ref} (${b.commit.slice(0, 7)})`;
  const cpu = (part: string, old?: number, head?: number): Row => [
    `CPU per payment at saturation, ${part}`,
    `${old ?? '-'} → ${head ?? '-'} ms`,
  ];
  const oldCpu = b.cpuMsPerPaymentAtSaturation;
  const headCpu = r.cpuMsPerPaymentAtSaturation;
  const parts = [...new Set([...Object.keys(headCpu.byPart), ...Object.keys(oldCpu.byPart)])];
  console.log(
    table(`1b. same run, old shape ${named} (run first) → this tree`, [
      ['speed-up at saturation', `${speedup}× (target ≥ 2×: ${speedup >= 2 ? 'met' : 'not met'})`],
      ['payments/s at saturation', runs(b.e2e.saturation, now.saturation)],
      [
        'load average (1 min) as the e2e phase ended',
        `${b.e2e.loadAverageAtEnd.toFixed(1)} → ${now.loadAverageAtEnd.toFixed(1)}`,
      ],
      [`payments/s at ${now.fixedRate.offeredPerSecond}/s`, runs(b.e2e.fixedRate, now.fixedRate)],
      [
        'create → SUCCEEDED at the fixed rate',
        lat(b.e2e.fixedRate.createToSucceededMs, now.fixedRate.createToSucceededMs),
      ],
      [
        'create → merchant notified at the fixed rate',
        lat(b.e2e.fixedRate.createToNotifiedMs, now.fixedRate.createToNotifiedMs),
      ],
      cpu('all', oldCpu.total, headCpu.total),
      ...parts.map((part) => cpu(part, oldCpu.byPart[part], headCpu.byPart[part])),
    ]),
  );
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

function printNotify(n: NotifyResult) {
  const { lat } = format;
  const { outcomes } = n;
  const failedStarts = n.startFailures > 0 ? `, ${n.startFailures} starts failed` : '';
  const expected =
    outcomes.failed === n.expectedFailed && n.unexpectedTries === 0
      ? "as the endpoint's rule makes them"
      : `the endpoint's rule makes ${n.expectedFailed} FAILED; ${n.unexpectedTries} events took other tries`;
  const byTry = Object.entries(n.retryLatenessByTryMs)
    .map(([after, l]) => `${after} p99 ${l.p99}`)
    .join(', ');
  console.log(
    table(
      `6. merchant notifications at scale: ${n.events} events, the endpoint answers 500 to half the tries, retries after ${n.retrySeconds.join(', ')} s`,
      [
        [
          'deliveries/s',
          `${n.deliveriesPerSecond} (${n.triesPerSecond} tries/s, ${n.seconds} s from the first start to the last outcome)`,
        ],
        [
          'started',
          `${n.events - n.startFailures} in ${n.startSeconds} s (${n.startsPerSecond}/s, ${n.concurrency} at a time)${failedStarts}`,
        ],
        [
          'events',
          `${outcomes.delivered} delivered, ${outcomes.failed} FAILED, ${outcomes.pending + outcomes.notRecorded} not finished (${expected})`,
        ],
        [
          'tries',
          `${n.tries} at the merchant, ${n.triesInBooks} in the books, ${n.unfinishedWorkflows} workflows unfinished`,
        ],
        ['start → first try', lat(n.startToFirstTryMs)],
        ['start → delivered', lat(n.startToDeliveredMs)],
        ['retry lateness', `${lat(n.retryLatenessMs)}, max ${n.retryLatenessMs.max} ms`],
        ['retry lateness by try', byTry || 'n/a'],
        [
          'CPU per event (ms)',
          `${Object.entries(n.cpuMsPerEvent.byPart)
            .map(([part, ms]) => `${part} ${ms}`)
            .join(', ')}; all ${n.cpuMsPerEvent.total}`,
        ],
      ],
    ),
  );
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
