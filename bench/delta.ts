// Each run beside the newest committed result (a bench/results file git tracks) that was run with
// the same parameters: the headline figures, then and now.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Row } from './report';

/** The figures worth comparing run to run: label, path in the result, and which way is better. */
const headline: [string, string, 'higher' | 'lower'][] = [
  ['e2e payments/s at saturation', 'e2e.saturation.perSecond', 'higher'],
  // Only runs with the same --baseline ref have the same parameters, so this compares like with like.
  ['speed-up at saturation over --baseline', 'speedupAtSaturation', 'higher'],
  [
    'create → SUCCEEDED p99 at the fixed rate (ms)',
    'e2e.fixedRate.createToSucceededMs.p99',
    'lower',
  ],
  ['CPU per payment at saturation (ms)', 'cpuMsPerPaymentAtSaturation.total', 'lower'],
  ['share of the minimal ceiling', 'minimalCeilingRatio', 'higher'],
  [
    "paycenter's shape with no-op activities, share of the minimal ceiling",
    'currentShapeOfMinimal',
    'higher',
  ],
  ['webhook ack p99 (ms)', 'webhooks.paycenter.ackMs.p99', 'lower'],
  ['worker peak RSS with open payments (bytes)', 'openPayments.workerPeakRss', 'lower'],
  ['first query lateness p99 (ms)', 'openPayments.queryLatenessMs.p99', 'lower'],
  ['Temporal bytes per open payment', 'openPayments.temporalBytesPerPayment', 'lower'],
  ['merchant deliveries/s, half the tries failing', 'notify.deliveriesPerSecond', 'higher'],
  ['merchant notification start → delivered p99 (ms)', 'notify.startToDeliveredMs.p99', 'lower'],
  ['merchant retry lateness p99 (ms)', 'notify.retryLatenessMs.p99', 'lower'],
];

type Result = { at?: string; parameters?: Record<string, unknown> } & Record<string, unknown>;

function figure(result: unknown, dotted: string): number | undefined {
  let value: unknown = result;
  for (const key of dotted.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return typeof value === 'number' ? value : undefined;
}

/** The parameters that make two runs comparable (the label names a run, it does not shape it). */
function shapeOf(result: Result): string {
  const { label: _label, ...parameters } = result.parameters ?? {};
  return JSON.stringify(parameters);
}

/** The newest git-tracked result in `folder` run with the same parameters as `current`. */
export function newestCommittedLike(
  root: string,
  current: Result,
  folder = 'bench/results',
): { file: string; result: Result } | undefined {
  let tracked: string[];
  try {
    tracked = execFileSync('git', ['ls-files', '--', folder], { cwd: root, encoding: 'utf8' })
      .split('\n')
      .filter((f) => f.endsWith('.json'));
  } catch {
    return undefined; // not a git checkout
  }
  const shape = shapeOf(current);
  return (
    tracked
      .map((file) => ({ file, result: JSON.parse(readFileSync(path.join(root, file), 'utf8')) }))
      // A run that did not end has only some phases' figures: nothing to compare a whole run with.
      .filter((r: { result: Result }) => !r.result.partial && shapeOf(r.result) === shape)
      .sort((a, b) => String(b.result.at).localeCompare(String(a.result.at)))[0]
  );
}

/** One row per headline figure both runs have: then → now, and whether that is better. */
export function deltaRows(previous: Result, current: Result): Row[] {
  return headline.flatMap(([label, dotted, better]): Row[] => {
    const then = figure(previous, dotted);
    const now = figure(current, dotted);
    if (then === undefined || now === undefined) return [];
    const change = then === 0 ? 0 : Math.round(((now - then) / then) * 1000) / 10;
    const verdict =
      change === 0 ? 'same' : change > 0 === (better === 'higher') ? 'better' : 'worse';
    return [[label, `${then} → ${now} (${change > 0 ? '+' : ''}${change}%, ${verdict})`]];
  });
}
