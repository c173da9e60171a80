// A merchant endpoint that fails half the time, for the notification phase: it answers 500 or 204
// to each try by a fixed rule of the event and the try's number, so about half of first tries
// and half of retries fail, and every event ends delivered or with its schedule exhausted, the
// same way in every run. It keeps each try's arrival and answer times, by the merchant's clock.
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { merchantEventIdHeader } from '../src/domain/merchantSignature';
import { wallNow } from './stats';

/** One POST of an event as the merchant saw it (wall clock, ms). */
export interface MerchantTry {
  arrivedAt: number;
  answeredAt: number;
  status: number;
}

/** Whether the endpoint answers the event's `tryNo`th try (1 = first) with 500. */
export function failsTry(eventId: string, tryNo: number): boolean {
  return createHash('sha256').update(`${eventId}:${tryNo}`).digest()[0]! < 128;
}

/**
 * The tries the rule makes an event take: the first answered 2xx, or all of them when every try
 * the schedule allows (`retrySeconds.length + 1`) fails.
 */
export function triesUntilOutcome(eventId: string, retrySeconds: readonly number[]) {
  const allowed = retrySeconds.length + 1;
  for (let tryNo = 1; tryNo <= allowed; tryNo++) {
    if (!failsTry(eventId, tryNo)) return { tries: tryNo, delivered: true };
  }
  return { tries: allowed, delivered: false };
}

export interface FlakyMerchant {
  notifyUrl: string;
  /** Each event's tries in the order they arrived. */
  tries: Map<string, MerchantTry[]>;
  stop(): Promise<void>;
}

export async function startFlakyMerchant(): Promise<FlakyMerchant> {
  const tries = new Map<string, MerchantTry[]>();
  const server = http.createServer((req, res) => {
    const arrivedAt = wallNow();
    // The body is read to its end so the exchange closes cleanly; the event ID is in a header.
    req.resume();
    req.on('end', () => {
      const eventId = String(req.headers[merchantEventIdHeader] ?? '');
      const seen = tries.get(eventId) ?? [];
      tries.set(eventId, seen);
      // Numbered by arrival: the try number is not on the wire, and a try the worker repeated
      // (its activity retried after the POST) counts as the merchant sees it, as a try.
      const status = failsTry(eventId, seen.length + 1) ? 500 : 204;
      seen.push({ arrivedAt, answeredAt: wallNow(), status });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    notifyUrl: `http://127.0.0.1:${port}/merchant/notify`,
    tries,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * How late each retry arrived: its arrival minus the previous try's answer plus the delay the
 * schedule sets after that try (`retrySeconds[n - 1]` after the nth). What the merchant sees, so
 * it includes recording the previous try, the timer, the dispatch and the new connection.
 */
export function retryLateness(
  tries: readonly MerchantTry[],
  retrySeconds: readonly number[],
): { afterTry: number; lateMs: number }[] {
  const late = [];
  for (let n = 1; n < tries.length; n++) {
    const delay = retrySeconds[n - 1];
    if (delay === undefined) break;
    late.push({
      afterTry: n,
      lateMs: tries[n]!.arrivedAt - (tries[n - 1]!.answeredAt + delay * 1000),
    });
  }
  return late;
}
