// The run's figures: a table on stdout, every violation with its evidence, and the whole result
// as chaos/results/<time>.json.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { resultFile, table, writeResult, type Row } from '../bench/report';
import { latency } from '../bench/stats';
import type { AuditResult, Violation } from './audit';
import { faultsByKind, type FaultRecord } from './faults';
import type { RequestCounters } from './merchant';
import type { OrderRecord } from './scenarios';

const root = path.resolve(__dirname, '..');

export interface RunSummary {
  seed: number;
  mode: 'quick' | 'full';
  command: string;
  startedAt: string;
  durationSeconds: number;
  records: OrderRecord[];
  faults: FaultRecord[];
  crashes: { part: string; how: string; at: string }[];
  audit: AuditResult;
  violations: Violation[];
  requests: RequestCounters;
  deliveries: number;
  temporalCli: string;
}

function run(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
      .split('\n')[0]!
      .trim();
  } catch {
    return 'unknown';
  }
}

export function versions(temporalCli: string) {
  return {
    paycenter: run('git', ['-C', root, 'rev-parse', '--short', 'HEAD']),
    node: process.version,
    temporal: run(temporalCli, ['--version']),
    postgres: run('/usr/lib/postgresql/15/bin/postgres', ['--version']),
  };
}

const count = <T>(items: readonly T[], key: (item: T) => string) => {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return counts;
};
const list = (counts: Record<string, number>) =>
  Object.entries(counts)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ') || 'none';

export function report(summary: RunSummary): { text: string; file: string } {
  const convergence = latency(summary.audit.convergenceSeconds.map((s) => s * 1000));
  const seconds = (ms: number) => (Number.isNaN(ms) ? 'n/a' : `${(ms / 1000).toFixed(1)} s`);
  const lastFault = Math.max(0, ...summary.faults.map((f) => f.endedAt ?? f.at));
  const result = {
    seed: summary.seed,
    mode: summary.mode,
    replay: summary.command,
    startedAt: summary.startedAt,
    durationSeconds: summary.durationSeconds,
    orders: summary.records.length,
    ordersByScenario: count(summary.records, (r) => r.scenario),
    ordersByChannel: count(summary.records, (r) => r.channel),
    finalStatuses: summary.audit.statuses,
    settled: summary.audit.settled,
    faults: summary.faults.length,
    faultsByKind: faultsByKind(summary.faults),
    unexpectedExits: summary.crashes,
    convergenceAfterLastFaultSeconds: {
      p50: convergence.p50 / 1000,
      p99: convergence.p99 / 1000,
      max: convergence.max / 1000,
      orders: convergence.count,
    },
    lastFaultEndedAt: lastFault ? new Date(lastFault).toISOString() : undefined,
    merchantRequests: summary.requests,
    merchantDeliveries: summary.deliveries,
    violations: summary.violations.length,
    violationsByCode: count(summary.violations, (v) => v.code),
    violationDetails: summary.violations,
    faultLog: summary.faults.map((f) => ({
      kind: f.kind,
      part: f.part,
      at: new Date(f.at).toISOString(),
      downSeconds: f.endedAt ? (f.endedAt - f.at) / 1000 : undefined,
    })),
    versions: versions(summary.temporalCli),
  };
  const file = resultFile(root, 'chaos/results');
  writeResult(file, result);
  const rows: Row[] = [
    ['seed', `${summary.seed} (${summary.mode})`],
    ['duration', `${summary.durationSeconds.toFixed(0)} s`],
    ['orders', `${result.orders} (${list(result.finalStatuses)})`],
    ['scenarios', list(result.ordersByScenario)],
    ['channels', list(result.ordersByChannel)],
    ['process faults', `${result.faults}: ${list(result.faultsByKind)}`],
    ['unexpected exits', list(count(summary.crashes, (c) => c.part))],
    [
      'convergence',
      `p50 ${seconds(convergence.p50)} / p99 ${seconds(convergence.p99)} / max ${seconds(convergence.max)} after the last disturbance (n=${convergence.count})`,
    ],
    [
      'merchant requests',
      `${summary.requests.requests} tries, ${summary.requests.retries} retried, ${summary.requests.unanswered} unanswered within 30 s; 503: ${list(summary.requests.unavailable)}`,
    ],
    ['violations', `${summary.violations.length}: ${list(result.violationsByCode)}`],
  ];
  const details = summary.violations
    .slice(0, 40)
    .map((v) =>
      [
        `\n  ${v.code}${v.payOrderId ? ` ${v.payOrderId}` : ''}${v.scenario ? ` [${v.scenario} #${v.n}]` : ''}: ${v.message}`,
        v.workflowId ? `    workflow ${v.workflowId}` : undefined,
        v.faults?.length ? `    faults: ${v.faults.join('; ')}` : undefined,
        v.steps?.length ? `    steps: ${v.steps.join(' | ')}` : undefined,
      ]
        .filter(Boolean)
        .join('\n'),
    );
  const more =
    summary.violations.length > 40
      ? [`\n  ... ${summary.violations.length - 40} more in ${file}`]
      : [];
  const text = [
    table('chaos run', rows),
    ...details,
    ...more,
    `\nresult: ${file}`,
    summary.violations.length > 0 ? `replay: ${summary.command}` : '',
  ].join('\n');
  return { text, file };
}
