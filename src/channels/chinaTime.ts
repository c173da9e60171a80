// Chinese channels speak Beijing time (UTC+8, no daylight saving) in their own formats.
const offsetMs = 8 * 3600 * 1000;

function parts(date: Date) {
  const shifted = new Date(date.getTime() + offsetMs).toISOString(); // YYYY-MM-DDTHH:mm:ss.sssZ
  return { day: shifted.slice(0, 10), time: shifted.slice(11, 19) };
}

/** "2026-11-25 20:30:00" (Alipay's time_expire, gmt_payment, ...). */
export function formatChinaDateTime(date: Date): string {
  const { day, time } = parts(date);
  return `${day} ${time}`;
}

/** "2026-11-25T20:30:00+08:00" (WeChat Pay v3's RFC 3339 times). */
export function formatChinaRfc3339(date: Date): string {
  const { day, time } = parts(date);
  return `${day}T${time}+08:00`;
}

/** Parses "yyyy-MM-dd HH:mm:ss" read as Beijing time. */
export function parseChinaDateTime(text: string): Date {
  const match = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})$/.exec(text);
  if (!match) throw new RangeError(`"${text}" is not yyyy-MM-dd HH:mm:ss`);
  return new Date(`${match[1]}T${match[2]}+08:00`);
}

/** "20261125" and the like: the channel's statement day, in Beijing time. */
export function chinaDay(date: Date): string {
  return parts(date).day;
}

/**
 * The instants a statement day covers: every channel paycenter speaks closes its statement day at
 * Beijing midnight.
 */
export function chinaDayBounds(day: string): { from: Date; to: Date } {
  const from = new Date(`${day}T00:00:00+08:00`);
  return { from, to: new Date(from.getTime() + 24 * 3600 * 1000) };
}
