// After the storm: waits until every order has settled (nothing in flight at the channel, every
// merchant event delivered), then audits each one with the money invariant against the channel's
// own books, and the merchant's notifications against what the merchant endpoint accepted.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { checkMoney, type MoneyBooks, type MoneyVerdict } from '../src/domain/moneyInvariant';
import { booksOfView, type BooksSource } from '../test/support/money';
import type { FaultRecord } from './faults';
import { exchange, type MerchantClient, type MerchantReceiver } from './merchant';
import { intendsAttention, type OrderRecord } from './scenarios';

export interface Violation {
  code: string;
  message: string;
  n?: number;
  scenario?: string;
  payOrderId?: string;
  /** The payment workflow's ID (the pay order ID), for the Temporal UI. */
  workflowId?: string;
  faults?: string[];
  steps?: string[];
}

interface NotificationRow {
  eventId: string;
  payOrderId: string;
  type: string;
  status: string;
  refundId: string | null;
}

interface Settled {
  view: any;
  books: MoneyBooks;
  verdict: MoneyVerdict;
  /** Why the order has not settled yet, if it has not. */
  pending?: string;
}

export interface AuditResult {
  violations: Violation[];
  /** Per order: seconds from its last disturbance (its script's end or the last fault that hit it) to settling. */
  convergenceSeconds: number[];
  /** Orders that settled within the deadline. */
  settled: number;
  statuses: Record<string, number>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const finalStatuses = new Set(['SUCCEEDED', 'CLOSED']);

/** The faults whose time overlapped the order's life (until it settled, or now). */
export function faultsHitting(
  record: OrderRecord,
  faults: readonly FaultRecord[],
  untilMs: number,
) {
  return faults.filter((f) => f.at <= untilMs && (f.endedAt ?? Date.now()) >= record.startedAt);
}

/**
 * The merchant events the books hold, read with `psql` (its own process, bounded): the postgres.js
 * driver in this process failed across PostgreSQL kills, once with a query that never settled and
 * once with a connection error no promise of ours could catch, which ended the run.
 */
async function readNotifications(databaseUrl: string): Promise<NotificationRow[]> {
  const query = `select coalesce(json_agg(e), '[]') from (
    select event_id as "eventId", pay_order_id as "payOrderId", type, status,
           payload #>> '{data,refund,id}' as "refundId"
    from merchant_notifications) e`;
  const { stdout } = await promisify(execFile)(
    '/usr/lib/postgresql/15/bin/psql',
    ['-X', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', databaseUrl, '-c', query],
    {
      timeout: 15_000,
      maxBuffer: 256 * 1024 * 1024,
      env: { ...process.env, PGCONNECT_TIMEOUT: '5' },
    },
  );
  return JSON.parse(stdout) as NotificationRow[];
}

async function inspect(source: BooksSource, record: OrderRecord, events: NotificationRow[]) {
  const answer = await source.api('GET', `/v1/pay-orders/${record.payOrderId}`);
  if (answer.status !== 200) return undefined;
  const view = answer.body;
  const books = await booksOfView(source, view);
  const verdict = checkMoney(books);
  const mine = events.filter((e) => e.payOrderId === record.payOrderId);
  const expectedEvent = view.status === 'SUCCEEDED' ? 'pay_order.succeeded' : 'pay_order.closed';
  const pending = verdict.inFlight
    ? verdict.message
    : !finalStatuses.has(view.status)
      ? `order is ${view.status}`
      : mine.some((e) => e.status === 'PENDING')
        ? 'a merchant notification is still being delivered'
        : !mine.some((e) => e.type === expectedEvent)
          ? `no ${expectedEvent} event yet`
          : undefined;
  return { view, books, verdict, ...(pending ? { pending } : {}) } satisfies Settled;
}

export interface SettleDeps {
  records: readonly OrderRecord[];
  merchants: Map<string, MerchantClient>;
  sandboxUrl: string;
  databaseUrl: string;
  log(line: string): void;
}

/** Reads one order's books and whether it has settled, through any API process. */
function inspector(deps: SettleDeps) {
  const sandbox = (method: string, path: string) =>
    exchange(`${deps.sandboxUrl}${path}`, method, undefined, {}, 10_000);
  return (record: OrderRecord, events: NotificationRow[]) => {
    const merchant = deps.merchants.get(record.merchantId)!;
    const api = (method: string, path: string) =>
      merchant.call(method, path, undefined, { deadlineMs: 0 });
    return inspect({ api, simulator: sandbox }, record, events).catch(() => undefined);
  };
}

async function inBatches<T>(items: readonly T[], size: number, each: (item: T) => Promise<void>) {
  for (let i = 0; i < items.length; i += size)
    await Promise.all(items.slice(i, i + size).map(each));
}

/**
 * Watches, from the start of the traffic, each order whose script has ended until it settles,
 * and notes when: `finish` waits until every order has settled or the deadline has passed.
 */
export function watchSettling(deps: SettleDeps) {
  const settledAt = new Map<number, number>();
  const check = inspector(deps);
  let deadlineMs: number | undefined;
  let events: NotificationRow[] = [];
  const loop = (async () => {
    for (let round = 1; ; round++) {
      events = await readNotifications(deps.databaseUrl).catch(() => events);
      const open = deps.records.filter((r) => r.payOrderId && r.endedAt && !settledAt.has(r.n));
      await inBatches(open, 8, async (record) => {
        const seen = await check(record, events);
        if (seen && !seen.pending) settledAt.set(record.n, Date.now());
      });
      const left = deps.records.filter((r) => r.payOrderId && !settledAt.has(r.n)).length;
      if (deadlineMs !== undefined) {
        if (round % 5 === 0 || left === 0) deps.log(`audit: ${left} orders not settled yet`);
        if (left === 0 || Date.now() > deadlineMs) return;
      }
      await sleep(2000);
    }
  })();
  return {
    settledAt,
    async finish(deadline: number) {
      deadlineMs = deadline;
      await loop;
    },
  };
}

export interface AuditDeps extends SettleDeps {
  faults: FaultRecord[];
  receiver: MerchantReceiver;
  settledAt: ReadonlyMap<number, number>;
}

/** Judges every order from fresh books, once the watch has ended. */
export async function audit(deps: AuditDeps): Promise<AuditResult> {
  const { records, settledAt } = deps;
  const check = inspector(deps);
  const events = await readNotifications(deps.databaseUrl);
  const latest = new Map<number, Settled>();
  await inBatches(records, 8, async (record) => {
    if (!record.payOrderId) return;
    const seen = await check(record, events);
    if (seen) latest.set(record.n, seen);
  });

  const violations: Violation[] = [];
  const convergenceSeconds: number[] = [];
  const statuses: Record<string, number> = {};
  for (const record of records) {
    const until = settledAt.get(record.n) ?? Date.now();
    const hit = faultsHitting(record, deps.faults, until);
    const violation = (code: string, message: string): Violation => ({
      code,
      message,
      n: record.n,
      scenario: record.scenario,
      ...(record.payOrderId
        ? { payOrderId: record.payOrderId, workflowId: record.payOrderId }
        : {}),
      faults: hit.map((f) => `${f.kind} ${f.part} @${new Date(f.at).toISOString().slice(11, 23)}`),
      steps: record.steps,
    });
    if (record.failure) violations.push(violation('REQUEST_FAILED', record.failure));
    if (!record.payOrderId) continue;
    const seen = latest.get(record.n);
    if (!seen) {
      violations.push(violation('NOT_READABLE', 'the pay order could not be read'));
      continue;
    }
    statuses[seen.view.status] = (statuses[seen.view.status] ?? 0) + 1;
    const at = settledAt.get(record.n);
    if (at === undefined) {
      violations.push(violation('NOT_SETTLED', `not settled by the deadline: ${seen.pending}`));
    } else {
      if (seen.pending) violations.push(violation('UNSETTLED_AGAIN', seen.pending));
      const disturbed = Math.max(
        record.endedAt ?? record.startedAt,
        ...hit.map((f) => f.endedAt ?? 0),
      );
      convergenceSeconds.push(Math.max(0, at - disturbed) / 1000);
    }
    if (!seen.verdict.inFlight && !seen.verdict.ok) {
      violations.push(violation(seen.verdict.code, seen.verdict.message));
    }
    const mismatched = seen.view.attempts.some(
      (a: { status: string }) => a.status === 'AMOUNT_MISMATCH',
    );
    if (seen.view.needsAttention && !mismatched) {
      violations.push(
        violation(
          'UNINTENDED_ATTENTION',
          'flagged NeedsAttention without a payment of another amount',
        ),
      );
    }
    if (mismatched && !seen.view.needsAttention) {
      violations.push(
        violation('MISSING_ATTENTION', 'a payment of another amount is not flagged NeedsAttention'),
      );
    }
    if (mismatched && !intendsAttention.has(record.scenario)) {
      violations.push(
        violation(
          'UNEXPECTED_MISMATCH',
          'an attempt is AMOUNT_MISMATCH although nobody paid another amount',
        ),
      );
    }
    violations.push(
      ...notificationViolations(record, events, deps.receiver).map(([c, m]) => violation(c, m)),
    );
  }
  const known = new Set(
    [...latest.values()].flatMap((s) =>
      s.view.attempts.map((a: { outTradeNo: string }) => a.outTradeNo),
    ),
  );
  violations.push(...(await strayTrades(deps.sandboxUrl, known)));
  return { violations, convergenceSeconds, settled: settledAt.size, statuses };
}

/**
 * Every event the books hold for the order was delivered and accepted by the endpoint, and no
 * fact was told under two event IDs (a merchant deduplicating by ID would apply it twice).
 */
function notificationViolations(
  record: OrderRecord,
  events: readonly NotificationRow[],
  receiver: MerchantReceiver,
): [string, string][] {
  const found: [string, string][] = [];
  const mine = events.filter((e) => e.payOrderId === record.payOrderId);
  for (const event of mine) {
    if (event.status !== 'DELIVERED') {
      found.push(['NOTIFICATION_UNDELIVERED', `${event.type} ${event.eventId} is ${event.status}`]);
    } else if (!receiver.events.get(event.eventId)?.accepted) {
      found.push([
        'NOTIFICATION_NOT_RECEIVED',
        `${event.type} ${event.eventId} is DELIVERED but the endpoint never accepted it`,
      ]);
    }
  }
  const byFact = new Map<string, Set<string>>();
  for (const event of receiver.events.values()) {
    if (event.payOrderId !== record.payOrderId || !event.accepted) continue;
    const fact = `${event.type}${event.refundId ? ` ${event.refundId}` : ''}`;
    byFact.set(fact, (byFact.get(fact) ?? new Set()).add(event.eventId));
  }
  for (const [fact, ids] of byFact) {
    if (ids.size > 1)
      found.push([
        'EVENT_APPLIED_TWICE',
        `${fact} arrived under ${ids.size} event IDs: ${[...ids].join(', ')}`,
      ]);
  }
  return found;
}

/** Paid trades at the channel that no order's books know: money nobody will ever account for. */
async function strayTrades(sandboxUrl: string, known: ReadonlySet<string>): Promise<Violation[]> {
  const answer = await exchange(`${sandboxUrl}/control/payments`, 'GET', undefined, {}, 30_000);
  if (answer.status !== 200) {
    return [
      { code: 'CHANNEL_UNREADABLE', message: `the sandbox's trade list: HTTP ${answer.status}` },
    ];
  }
  const trades = answer.body.items as {
    out_trade_no: string;
    trade_status: string;
    channel: string;
  }[];
  return trades
    .filter((t) => t.trade_status === 'TRADE_SUCCESS' && !known.has(t.out_trade_no))
    .map((t) => ({
      code: 'STRAY_TRADE',
      message: `${t.channel} trade ${t.out_trade_no} is paid at the channel, and no pay order lists it`,
    }));
}
