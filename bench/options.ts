// The bench's parameters: defaults for a full run, `--quick` for a run of a few minutes, and a
// flag for each (`npm run bench -- --payments 300 --open 1000`).
import { parseArgs } from 'node:util';
import { backgroundNice } from '../src/cpuPriority';
import { walPragmas } from '../src/dev/temporal';

export interface BenchOptions {
  /** Journeys at saturation (closed loop), and the bare workflow runs as many. */
  payments: number;
  concurrency: number;
  /** Open-loop arrival rate of the fixed-rate e2e run, per second, and how long it lasts. */
  rate: number;
  rateSeconds: number;
  warmup: number;
  /**
   * Webhook acks: TRADE_SUCCESS notifications for as many distinct open orders per second, so the
   * worker and Temporal are busy with the payments while the API acknowledges.
   */
  webhookRate: number;
  webhookSeconds: number;
  /** The ingest sweep's rates (notifications per second), each for `ingestSeconds`. */
  ingestRates: number[];
  ingestSeconds: number;
  /** Open orders each rate's notifications are about (each paid by its first). */
  ingestOrders: number;
  /** How long to wait after a load for every stored notification to be handed over. */
  handOverTimeoutSeconds: number;
  open: number;
  openConcurrency: number;
  /** First query delay of an open channel order (QUERY_SCHEDULE_SECONDS starts with it). */
  firstQuerySeconds: number;
  /** Histories read for "where time goes" and for query lateness. */
  sample: number;
  logLevel: string;
  label: string;
  /**
   * Statement sizes (lines) of the reconciliation measurement, each run for every format; the
   * cost ratio is of the largest to the smallest (`--reconcile-lines 100000,1000000`).
   */
  reconcileLines: number[];
  /** Merchant notification events of the notify phase, each to an endpoint failing half the tries. */
  notifyEvents: number;
  /** The notify phase's retry schedule (seconds after each failed try), short for a bench. */
  notifyRetrySeconds: number[];
  /** How many of the notify phase's workflow starts are in flight at a time. */
  notifyConcurrency: number;
  /**
   * How long the notify phase waits with no event ending (beyond the schedule's longest delay)
   * before it stops waiting and reports the rest as not finished.
   */
  notifyWaitSeconds: number;
  /**
   * Which measurements to run: e2e, ceiling, webhooks, ingest, open, reconcile, notify (all by
   * default).
   */
  phases: Phase[];
  temporalInMemory: boolean;
  /**
   * `--cluster`: `npm run cluster`'s shape instead of `npm start`'s: the real Temporal server on
   * PostgreSQL, two workers and two API processes (the load spread over both).
   */
  cluster: boolean;
  /**
   * SQLite pragmas for Temporal's file. WAL by default: with the server's own default (a rollback
   * journal, `--temporal-pragmas default`) the dev server, not paycenter, is what gets measured.
   */
  temporalPragmas: string[];
  /**
   * `--baseline <git-ref>`: the e2e phase also measured, first and on a stack of its own, on the
   * code at that commit (bench/baseline.ts), and this tree's speed-up over it. `28be224` is main
   * just before issue 17's performance work; the target is ≥ 2× at saturation. Unset: no baseline
   * (and no key in the result's parameters, so earlier results still compare).
   */
  baseline?: string;
  /**
   * The Linux nice the worker, the sandbox and Temporal run at, below the API's, as `npm run
   * cluster` runs them (src/cpuPriority.ts), +10 to the bench's own. `--equal-priority` runs every
   * part at the same priority, as every run before it was made did (the committed results without
   * `backgroundNice` in their parameters): no key then, so those still compare.
   */
  backgroundNice?: number;
}

export const phases = [
  'e2e',
  'ceiling',
  'webhooks',
  'ingest',
  'open',
  'reconcile',
  'notify',
] as const;
export type Phase = (typeof phases)[number];

const full: BenchOptions = {
  // Sized for this project's 2-core machine, where paycenter saturates at about 7 payments a
  // second: about a minute for each e2e run (the whole run about 15); raise them on bigger ones.
  payments: 400,
  concurrency: 48,
  rate: 4,
  rateSeconds: 40,
  warmup: 60,
  webhookRate: 200,
  webhookSeconds: 15,
  ingestRates: [100, 200, 500, 1000, 2000],
  ingestSeconds: 10,
  ingestOrders: 100,
  handOverTimeoutSeconds: 120,
  open: 10_000,
  openConcurrency: 32,
  firstQuerySeconds: 30,
  sample: 200,
  reconcileLines: [100_000, 1_000_000],
  notifyEvents: 10_000,
  notifyRetrySeconds: [1, 2, 4, 8, 16],
  notifyConcurrency: 32,
  notifyWaitSeconds: 120,
  logLevel: 'info',
  label: '',
  phases: [...phases],
  temporalInMemory: false,
  cluster: false,
  temporalPragmas: walPragmas,
  backgroundNice,
};

const quick: Partial<BenchOptions> = {
  payments: 100,
  rateSeconds: 15,
  warmup: 30,
  webhookSeconds: 5,
  ingestSeconds: 5,
  open: 500,
  firstQuerySeconds: 15,
  sample: 50,
  reconcileLines: [10_000, 100_000],
  notifyEvents: 1_000,
};

export function parseOptions(args: string[]): BenchOptions {
  const numbers = [
    'payments',
    'concurrency',
    'rate',
    'rate-seconds',
    'warmup',
    'webhook-rate',
    'webhook-seconds',
    'ingest-seconds',
    'ingest-orders',
    'hand-over-timeout-seconds',
    'open',
    'open-concurrency',
    'first-query-seconds',
    'sample',
    'notify-events',
    'notify-concurrency',
    'notify-wait-seconds',
  ] as const;
  const { values } = parseArgs({
    args,
    options: {
      quick: { type: 'boolean' },
      'log-level': { type: 'string' },
      label: { type: 'string' },
      phases: { type: 'string' },
      'ingest-rates': { type: 'string' },
      'reconcile-lines': { type: 'string' },
      'notify-retry-seconds': { type: 'string' },
      'temporal-in-memory': { type: 'boolean' },
      cluster: { type: 'boolean' },
      'temporal-pragmas': { type: 'string' },
      baseline: { type: 'string' },
      'equal-priority': { type: 'boolean' },
      ...Object.fromEntries(numbers.map((n) => [n, { type: 'string' as const }])),
    },
    strict: true,
  });
  const options: BenchOptions = { ...full, ...(values.quick ? quick : {}) };
  const camel = (flag: string) => flag.replace(/-(\w)/g, (_, c: string) => c.toUpperCase());
  for (const flag of numbers) {
    const text = (values as Record<string, unknown>)[flag] as string | undefined;
    if (text === undefined) continue;
    const n = Number(text);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${flag} must be a positive number`);
    (options as unknown as Record<string, number>)[camel(flag)] = n;
  }
  if (values['reconcile-lines']) {
    const sizes = values['reconcile-lines'].split(',').map((n) => Number(n.trim()));
    if (sizes.some((n) => !Number.isInteger(n) || n < 100)) {
      throw new Error('--reconcile-lines must be whole numbers of at least 100, comma-separated');
    }
    options.reconcileLines = sizes;
  }
  if (values['notify-retry-seconds']) {
    const delays = values['notify-retry-seconds'].split(',').map((s) => Number(s.trim()));
    if (delays.some((s) => !Number.isFinite(s) || s < 0)) {
      throw new Error('--notify-retry-seconds must be seconds (0 or more), comma-separated');
    }
    options.notifyRetrySeconds = delays;
  }
  if (values['log-level']) options.logLevel = values['log-level'];
  if (values.label) options.label = values.label;
  if (values['temporal-in-memory']) options.temporalInMemory = true;
  if (values.cluster) options.cluster = true;
  if (values['equal-priority']) delete options.backgroundNice;
  if (options.cluster && (values['temporal-in-memory'] || values['temporal-pragmas'])) {
    throw new Error('--cluster runs the Temporal server on PostgreSQL: no SQLite options');
  }
  if (values['temporal-pragmas']) {
    options.temporalPragmas = values['temporal-pragmas'].split(',').map((p) => p.trim());
  }
  if (values['ingest-rates']) {
    const rates = values['ingest-rates'].split(',').map((r) => Number(r.trim()));
    if (rates.some((r) => !Number.isFinite(r) || r <= 0)) {
      throw new Error('--ingest-rates must be positive numbers, comma-separated');
    }
    options.ingestRates = rates;
  }
  if (values.phases) {
    const chosen = values.phases.split(',').map((p) => p.trim());
    const unknown = chosen.filter((p) => !(phases as readonly string[]).includes(p));
    if (unknown.length > 0) throw new Error(`--phases: unknown ${unknown.join(', ')}`);
    options.phases = chosen as Phase[];
  }
  if (values.baseline !== undefined) {
    if (!options.phases.includes('e2e')) {
      throw new Error('--baseline compares the e2e phase: --phases must include e2e');
    }
    options.baseline = values.baseline;
  }
  return options;
}
