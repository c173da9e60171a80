// Chinese channels speak Beijing time (UTC+8, no daylight saving) in their own formats; the
// statement day they close at Beijing midnight is the domain's business day (businessDay.ts).
import { beijingWallClock } from '../domain/businessDay';

/** "2026-11-25 20:30:00" (Alipay's time_expire, gmt_payment, ...). */
export function formatChinaDateTime(date: Date): string {
  const { day, time } = beijingWallClock(date);
  return `${day} ${time}`;
}

/** "2026-11-25T20:30:00+08:00" (WeChat Pay v3's RFC 3339 times). */
export function formatChinaRfc3339(date: Date): string {
  const { day, time } = beijingWallClock(date);
  return `${day}T${time}+08:00`;
}

/** Parses "yyyy-MM-dd HH:mm:ss" read as Beijing time. */
export function parseChinaDateTime(text: string): Date {
  const match = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})$/.exec(text);
  if (!match) throw new RangeError(`"${text}" is not yyyy-MM-dd HH:mm:ss`);
  return new Date(`${match[1]}T${match[2]}+08:00`);
}
