// The business day paycenter reconciles by: every channel it speaks closes its statement day at
// Beijing midnight (UTC+8, no daylight saving), so a statement day is a Beijing calendar day.
const beijingOffsetMs = 8 * 3600 * 1000;

/** An instant on Beijing's wall clock, to the second (the channels' time formats build on it). */
export function beijingWallClock(at: Date): { day: string; time: string } {
  // YYYY-MM-DDTHH:mm:ss.sssZ, shifted to read Beijing's day and time
  const shifted = new Date(at.getTime() + beijingOffsetMs).toISOString();
  return { day: shifted.slice(0, 10), time: shifted.slice(11, 19) };
}

/** The statement day an instant falls on, yyyy-MM-dd. */
export function businessDayOf(at: Date): string {
  return beijingWallClock(at).day;
}

/** The instants a statement day covers: from its Beijing midnight to the next one. */
export function businessDayBounds(day: string): { from: Date; to: Date } {
  const from = new Date(`${day}T00:00:00+08:00`);
  return { from, to: new Date(from.getTime() + 24 * 3600 * 1000) };
}
