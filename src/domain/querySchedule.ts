// When to ask the channel about an open channel order that no notification has settled.
export interface QuerySchedule {
  /** Delays before each query, in seconds; the last one repeats. */
  delaysSeconds: number[];
  /** Queries in a row that could not learn the status before the order needs an operator. */
  attentionAfterFailures: number;
  /** Once an operator is needed, query this rarely (seconds). */
  rareSeconds: number;
  /**
   * Each delay is stretched by up to this share of itself (0.2: 10 s becomes 10–12 s), by a hash
   * of what is queried, so that orders created together do not all query the channel at the same
   * moment. Absent (workflows started before it existed): no spread.
   */
  spreadRatio?: number;
}

export const defaultQuerySchedule: QuerySchedule = {
  delaysSeconds: [10, 20, 30, 60, 120, 300, 600, 1800],
  attentionAfterFailures: 10,
  rareSeconds: 3600,
  spreadRatio: 0.2,
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

/**
 * Milliseconds to wait before query number `done + 1` of `queried` (a channel order's or a
 * refund's ID): the schedule's delay, spread by the schedule's ratio. The same order and query
 * always get the same wait, so a replayed workflow computes the timer it recorded.
 */
export function nextQueryWaitMs(
  schedule: QuerySchedule,
  queried: string,
  done: number,
  failuresInARow: number,
): number {
  const delayMs = nextQueryDelaySeconds(schedule, done, failuresInARow) * 1000;
  const spread = schedule.spreadRatio ?? 0;
  return Math.round(delayMs * (1 + spread * unitHash(`${queried}#${done}`)));
}

/** A number in [0, 1) from `text` (FNV-1a): deterministic, evenly spread, no randomness drawn. */
function unitHash(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) / 2 ** 32;
}

export function needsAttentionAfter(schedule: QuerySchedule, failuresInARow: number): boolean {
  return failuresInARow >= schedule.attentionAfterFailures;
}

/** Quick queries while a pay request waits for a synchronous channel's pending payment. */
export const syncQueryDelaysSeconds = [1, 2, 4, 8, 16, 32];

/** How long a pay request waits for a pending synchronous payment before answering. */
export const defaultSyncPayWaitSeconds = 15;
