// When to ask the channel about an open channel order that no notification has settled.
export interface QuerySchedule {
  /** Delays before each query, in seconds; the last one repeats. */
  delaysSeconds: number[];
  /** Queries in a row that could not learn the status before the order needs an operator. */
  attentionAfterFailures: number;
  /** Once an operator is needed, query this rarely (seconds). */
  rareSeconds: number;
}

export const defaultQuerySchedule: QuerySchedule = {
  delaysSeconds: [10, 20, 30, 60, 120, 300, 600, 1800],
  attentionAfterFailures: 10,
  rareSeconds: 3600,
};

/** Seconds to wait before query number `done + 1` of one channel order. */
export function nextQueryDelaySeconds(
  schedule: QuerySchedule,
  done: number,
  failuresInARow: number,
): number {
  if (failuresInARow >= schedule.attentionAfterFailures) return schedule.rareSeconds;
  const delays = schedule.delaysSeconds;
  return delays[Math.min(done, delays.length - 1)] ?? schedule.rareSeconds;
}

export function needsAttentionAfter(schedule: QuerySchedule, failuresInARow: number): boolean {
  return failuresInARow >= schedule.attentionAfterFailures;
}

/** Quick queries while a pay request waits for a synchronous channel's pending payment. */
export const syncQueryDelaysSeconds = [1, 2, 4, 8, 16, 32];

/** How long a pay request waits for a pending synchronous payment before answering. */
export const defaultSyncPayWaitSeconds = 15;
