// Latency summaries and load shapes shared by the measurements.

export interface Latency {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** Percentiles (nearest rank) of millisecond samples, rounded to 0.1 ms. */
export function latency(samples: number[]): Latency {
  const sorted = samples.filter(Number.isFinite).sort((a, b) => a - b);
  const at = (q: number) =>
    sorted.length === 0
      ? NaN
      : sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
  const round = (n: number) => Math.round(n * 10) / 10;
  return {
    count: sorted.length,
    p50: round(at(0.5)),
    p95: round(at(0.95)),
    p99: round(at(0.99)),
    max: round(sorted.at(-1) ?? NaN),
  };
}

/** Wall-clock milliseconds with sub-millisecond precision, comparable with Temporal and DB times. */
export const wallNow = () => performance.timeOrigin + performance.now();

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Open loop: starts `count` tasks at a fixed rate whatever the earlier ones are doing, so slow
 * answers do not slow the arrivals (no coordinated omission). Each task gets its due time.
 */
export async function openLoop(
  count: number,
  perSecond: number,
  task: (index: number, dueMs: number) => Promise<void>,
): Promise<void> {
  const start = performance.now();
  const running: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const due = start + (i * 1000) / perSecond;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    running.push(task(i, due));
  }
  await Promise.all(running);
}

/** Closed loop: `concurrency` workers each run tasks back to back until `count` have started. */
export async function closedLoop(
  count: number,
  concurrency: number,
  task: (index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}
