// The merchant's side: an API client that spreads its requests over both API processes and
// retries as a careful integration does (same Idempotency-Key, the other process, until a
// deadline), and a notify endpoint that deduplicates events by ID and can fail for a while.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { MerchantEvent } from '../src/domain/merchantEvents';

export interface Answer {
  status: number;
  /** The server's Retry-After, in seconds, when it gave one. */
  retryAfterSeconds?: number;
  body: any;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One HTTP exchange; a transport failure is status 0. */
export async function exchange(
  url: string,
  method: string,
  body: unknown,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<Answer> {
  try {
    const response = await fetch(url, {
      method,
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.text();
    const json = (response.headers.get('content-type') ?? '').includes('json') && text;
    const retryAfter = Number(response.headers.get('retry-after') ?? NaN);
    return {
      status: response.status,
      body: json ? JSON.parse(text) : text,
      ...(Number.isFinite(retryAfter) ? { retryAfterSeconds: retryAfter } : {}),
    };
  } catch (err) {
    return { status: 0, body: (err as Error).message };
  }
}

/** Worth another try: nobody answered, the server failed, or another try of ours holds the key. */
function retryable(answer: Answer): boolean {
  if (answer.status === 0 || answer.status >= 500 || answer.status === 429) return true;
  return answer.status === 409 && answer.body?.code === 'IDEMPOTENCY_KEY_IN_USE';
}

export interface MerchantClient {
  merchantId: string;
  /** Calls the API, retrying over both processes until `deadlineMs` passes; answers the last. */
  call(
    method: string,
    path: string,
    body?: unknown,
    options?: { deadlineMs?: number },
  ): Promise<Answer>;
}

export interface RequestCounters {
  requests: number;
  retries: number;
  /** Tries that got no answer within 30 s (the API held the request, or died with it). */
  unanswered: number;
  /** Tries answered 503, by problem code (an outage the API knew it had). */
  unavailable: Record<string, number>;
}

/**
 * A merchant's integration keeps a request it must make (a pay, a refund) in a job queue for long;
 * five minutes here, so that only an API unable to answer for that long fails a scenario.
 */
const merchantPatienceMs = 300_000;

export function merchantClient(
  merchantId: string,
  apiKey: string,
  apiUrls: readonly string[],
  counters: RequestCounters,
): MerchantClient {
  let turn = 0;
  return {
    merchantId,
    async call(method, path, body, { deadlineMs = merchantPatienceMs } = {}) {
      const deadline = Date.now() + deadlineMs;
      const headers: Record<string, string> = { authorization: `Bearer ${apiKey}` };
      if (method === 'POST') headers['idempotency-key'] = randomUUID();
      for (let tries = 0; ; tries++) {
        const url = apiUrls[turn++ % apiUrls.length]!;
        counters.requests += 1;
        const answer = await exchange(`${url}${path}`, method, body, headers, 30_000);
        if (answer.status === 0 && /timeout/i.test(String(answer.body))) counters.unanswered += 1;
        if (answer.status === 503) {
          const code = String(answer.body?.code ?? 'NO_CODE');
          counters.unavailable[code] = (counters.unavailable[code] ?? 0) + 1;
        }
        if (!retryable(answer) || Date.now() > deadline) return answer;
        counters.retries += 1;
        const backoffMs = Math.min(250 * 2 ** tries, 3000);
        await sleep(Math.max(backoffMs, (answer.retryAfterSeconds ?? 0) * 1000));
      }
    },
  };
}

export interface Delivered {
  eventId: string;
  type: string;
  payOrderId: string;
  refundId?: string;
  /** Deliveries of this event ID that the endpoint accepted (2xx). */
  accepted: number;
  /** Deliveries it refused while failing on purpose. */
  refused: number;
}

export interface MerchantReceiver {
  notifyUrl: string;
  /** Events applied, once per event ID (a merchant that deduplicates by it). */
  events: Map<string, Delivered>;
  deliveries: number;
  /** The endpoint answers 503 for this pay order's events until then (ms since epoch). */
  failUntil(payOrderId: string, untilMs: number): void;
  stop(): Promise<void>;
}

export async function startMerchantReceiver(): Promise<MerchantReceiver> {
  const failing = new Map<string, number>();
  const events = new Map<string, Delivered>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      receiver.deliveries += 1;
      let event: MerchantEvent;
      try {
        event = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        res.writeHead(400).end();
        return;
      }
      const seen = events.get(event.id) ?? {
        eventId: event.id,
        type: event.type,
        payOrderId: event.data.payOrderId,
        ...(event.data.refund ? { refundId: event.data.refund.id } : {}),
        accepted: 0,
        refused: 0,
      };
      events.set(event.id, seen);
      if ((failing.get(event.data.payOrderId) ?? 0) > Date.now()) {
        seen.refused += 1;
        res.writeHead(503).end('down for maintenance');
        return;
      }
      seen.accepted += 1;
      res.writeHead(204).end();
    });
  });
  const receiver: MerchantReceiver = {
    notifyUrl: '',
    events,
    deliveries: 0,
    failUntil: (payOrderId, untilMs) => void failing.set(payOrderId, untilMs),
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.notifyUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/notify`;
  return receiver;
}
