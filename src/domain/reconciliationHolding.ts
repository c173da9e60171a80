// Reconciliation's holding pool. Our books and a channel may put one payment or refund on
// neighbouring statement days (we book at 23:59:59, the channel at 00:00:01 of the next Beijing
// day, or the other way round), so "the channel did not book it" may only mean "not on this day's
// statement". Such a difference waits up to N days for another day's statement to book it before
// it becomes an operator's exception. Pure; no I/O.
import type { Difference, DifferenceKind, StatementEntry } from './reconciliation';

/**
 * The classes a day-boundary shift can cause: something our books hold as done that this day's
 * statement lacks. Every other class comes from a statement line, matched with the books by its
 * reference whatever day either side booked it on, so a shift cannot cause it.
 */
export const dayBoundaryKinds: ReadonlySet<DifferenceKind> = new Set<DifferenceKind>([
  'MISSING_AT_CHANNEL',
  'REFUND_MISSING_AT_CHANNEL',
]);

/** Where another day's statement books a held difference's reference: the evidence that clears it. */
export interface LaterBooking {
  day: string;
  statementId: string;
  line: StatementEntry;
}

export type HoldDecision =
  | { decision: 'HOLD'; until: string }
  | { decision: 'RELEASE' }
  | { decision: 'CLEAR'; booking: LaterBooking };

export interface HoldClock {
  /** The latest statement day whose time has come (see holdHorizon). */
  horizon: string;
  /** How many days after its own a difference waits for another day's statement. */
  holdDays: number;
}

/** The day `days` after a yyyy-MM-dd day. */
export function addDays(day: string, days: number): string {
  const date = new Date(`${day}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() + days);
  return date.toISOString().slice(0, 10);
}

/** The last day whose statement a difference of `day` waits for. */
export function heldUntil(day: string, holdDays: number): string {
  return addDays(day, holdDays);
}

/**
 * How far the channel's statements have come: the latest day with a stored statement (the run's
 * own day at least), or yesterday (Beijing) when that is later, since yesterday's statement is out
 * by the daily run. A rerun of an old day so sees its holds as over once later days have run, or
 * once their statements are due.
 */
export function holdHorizon(latestStatementDay: string, today: string): string {
  const yesterday = addDays(today, -1);
  return latestStatementDay > yesterday ? latestStatementDay : yesterday;
}

/**
 * What becomes of a difference of `day` that may be a shift: cleared when another day's statement
 * books it, released to the operators once the statement of its last day is due, held till then.
 */
export function decideHold(
  day: string,
  booking: LaterBooking | undefined,
  clock: HoldClock,
): HoldDecision {
  if (booking) return { decision: 'CLEAR', booking };
  const until = heldUntil(day, clock.holdDays);
  return clock.horizon >= until ? { decision: 'RELEASE' } : { decision: 'HOLD', until };
}

/**
 * One day's differences with those that may be a shift held while their hold runs. The books'
 * `unnamedSuccesses` has already left out what a stored statement of another day books, so none
 * is cleared here.
 */
export function holdShifts(
  day: string,
  differences: readonly Difference[],
  clock: HoldClock,
): Difference[] {
  return differences.map((d) =>
    dayBoundaryKinds.has(d.kind) && decideHold(day, undefined, clock).decision === 'HOLD'
      ? { ...d, resolution: 'HELD' }
      : d,
  );
}
