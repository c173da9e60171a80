// The safety net's books: what each check asks of them (suspects, oldest first, with the finding
// an earlier scan recorded for each) and the findings' own record.
import {
  and,
  asc,
  count,
  eq,
  gt,
  gte,
  inArray,
  isNotNull,
  isNull,
  lt,
  ne,
  notExists,
  or,
  sql,
  type SQL,
} from 'drizzle-orm';
import { union, type PgColumn } from 'drizzle-orm/pg-core';
import type { Db } from '../client';
import {
  channelAttempts,
  merchantNotifications,
  payOrders,
  refunds,
  safetyNetFindings,
} from '../schema';
import { newId } from '../../domain/ids';
import { merchantRefundReason } from '../../domain/moneyInvariant';
import { openStatuses, paidStatuses } from '../../domain/payOrder';
import {
  moneyCheckPage,
  suspectsPerCheck,
  type FindingAction,
  type SafetyNetCheck,
} from '../../domain/safetyNet';

/** What one check of one scan reads: its own findings, within one merchant for a narrow scan. */
export interface ScanScope {
  check: SafetyNetCheck;
  merchantId?: string;
}

/** The finding an earlier scan recorded for a suspect: what it did, or null for none. */
interface Prior {
  prior: FindingAction | null;
}

const before = (at: Date) => sql`${at.toISOString()}::timestamptz`;
/** Joins the finding an earlier scan recorded for the same subject, if any. */
const findingOf = (check: SafetyNetCheck, subject: PgColumn) =>
  and(eq(safetyNetFindings.check, check), eq(safetyNetFindings.subject, subject));
/** Unknown suspects first, so a pile of known ones never starves a new one. */
const knownLast = sql`${safetyNetFindings.id} is not null`;
const ofMerchant = (column: PgColumn, scope: ScanScope) =>
  scope.merchantId ? eq(column, scope.merchantId) : undefined;
const withPrior = <T extends { prior: string | null }>(rows: T[]) =>
  rows as (Omit<T, 'prior'> & Prior)[];

/** Channel orders matching `where`, with their pay order and their finding, oldest first. */
async function attemptsWhere(db: Db, scope: ScanScope, where: SQL | undefined, age: PgColumn) {
  const rows = await db
    .select({
      attemptId: channelAttempts.id,
      payOrderId: channelAttempts.payOrderId,
      channel: channelAttempts.channel,
      outTradeNo: channelAttempts.outTradeNo,
      status: channelAttempts.status,
      amount: channelAttempts.amount,
      currency: channelAttempts.currency,
      paidAt: channelAttempts.paidAt,
      orderStatus: payOrders.status,
      expiresAt: payOrders.expiresAt,
      prior: safetyNetFindings.action,
    })
    .from(channelAttempts)
    .innerJoin(payOrders, eq(payOrders.id, channelAttempts.payOrderId))
    .leftJoin(safetyNetFindings, findingOf(scope.check, channelAttempts.id))
    .where(and(where, ofMerchant(payOrders.merchantId, scope)))
    .orderBy(knownLast, asc(age))
    .limit(suspectsPerCheck + 1);
  return withPrior(rows);
}

export type SuspectAttempt = Awaited<ReturnType<typeof attemptsWhere>>[number];

/** Successful channel orders of orders matching `orderIs`, paid before `paidBefore`, that no refund answers. */
function unrefundedSuccesses(orderIs: SQL) {
  return (db: Db, scope: ScanScope, paidBefore: Date) =>
    attemptsWhere(
      db,
      scope,
      and(
        inArray(channelAttempts.status, [...paidStatuses]),
        orderIs,
        sql`coalesce(${channelAttempts.paidAt}, ${channelAttempts.updatedAt}) < ${before(paidBefore)}`,
        notExists(
          db
            .select({ one: sql`1` })
            .from(refunds)
            .where(eq(refunds.attemptId, channelAttempts.id)),
        ),
      ),
      channelAttempts.paidAt,
    );
}

/** Paid orders' other successful channel orders that no refund answers. */
export const extraSuccessesUnrefunded = unrefundedSuccesses(
  and(
    eq(payOrders.status, 'SUCCEEDED'),
    sql`${channelAttempts.id} is distinct from ${payOrders.paidAttemptId}`,
  )!,
);

/** Closed orders' successful channel orders that no refund answers. */
export const closedOrdersPaid = unrefundedSuccesses(eq(payOrders.status, 'CLOSED'));

/** Channel orders still open whose pay order expired before `expiredBefore`. */
export function attemptsOpenPastExpiry(db: Db, scope: ScanScope, expiredBefore: Date) {
  return attemptsWhere(
    db,
    scope,
    and(inArray(channelAttempts.status, [...openStatuses]), lt(payOrders.expiresAt, expiredBefore)),
    payOrders.expiresAt,
  );
}

/** Refunds still PROCESSING that were asked for before `createdBefore`. */
export async function refundsProcessingSince(db: Db, scope: ScanScope, createdBefore: Date) {
  const rows = await db
    .select({
      refundId: refunds.id,
      payOrderId: refunds.payOrderId,
      attemptId: refunds.attemptId,
      amount: refunds.amount,
      currency: refunds.currency,
      reason: refunds.reason,
      createdAt: refunds.createdAt,
      prior: safetyNetFindings.action,
    })
    .from(refunds)
    .leftJoin(safetyNetFindings, findingOf(scope.check, refunds.id))
    .where(
      and(
        eq(refunds.status, 'PROCESSING'),
        lt(refunds.createdAt, createdBefore),
        ofMerchant(refunds.merchantId, scope),
      ),
    )
    .orderBy(knownLast, asc(refunds.createdAt))
    .limit(suspectsPerCheck + 1);
  return withPrior(rows);
}

/** Merchant events made before `createdBefore` and not delivered. */
export async function merchantEventsUndelivered(db: Db, scope: ScanScope, createdBefore: Date) {
  const rows = await db
    .select({
      eventId: merchantNotifications.eventId,
      payOrderId: merchantNotifications.payOrderId,
      type: merchantNotifications.type,
      status: merchantNotifications.status,
      createdAt: merchantNotifications.createdAt,
      prior: safetyNetFindings.action,
    })
    .from(merchantNotifications)
    .leftJoin(safetyNetFindings, findingOf(scope.check, merchantNotifications.eventId))
    .where(
      and(
        ne(merchantNotifications.status, 'DELIVERED'),
        lt(merchantNotifications.createdAt, createdBefore),
        ofMerchant(merchantNotifications.merchantId, scope),
      ),
    )
    .orderBy(knownLast, asc(merchantNotifications.createdAt))
    .limit(suspectsPerCheck + 1);
  return withPrior(rows);
}

/** The money check's window: books that last changed from `changedSince` to `settledBefore`. */
export interface MoneyWindow {
  changedSince: Date;
  settledBefore: Date;
}

/**
 * One page (by pay order ID, after `after`) of the pay orders whose books the money check judges,
 * with their channel orders and refunds: SUCCEEDED or CLOSED orders with nothing in flight whose
 * books (order, channel orders, refunds) last changed within the window, and those with an open
 * finding of this check (judged again until conserved), leaving out orders another check has an
 * open finding on (it owns them). An empty page is the end.
 */
export async function settledOrdersPage(
  db: Db,
  scope: ScanScope,
  { changedSince, settledBefore }: MoneyWindow,
  after: string,
) {
  const changedWithin = (updatedAt: PgColumn) =>
    and(gte(updatedAt, changedSince), lt(updatedAt, settledBefore));
  // The orders to read, each found by an index: books changed in the window, or a finding open.
  const candidates = union(
    db.select({ id: payOrders.id }).from(payOrders).where(changedWithin(payOrders.updatedAt)),
    db
      .select({ id: channelAttempts.payOrderId })
      .from(channelAttempts)
      .where(changedWithin(channelAttempts.updatedAt)),
    db.select({ id: refunds.payOrderId }).from(refunds).where(changedWithin(refunds.updatedAt)),
    db
      .select({ id: safetyNetFindings.subject }) // this check's subject is the pay order
      .from(safetyNetFindings)
      .where(and(eq(safetyNetFindings.check, scope.check), isNull(safetyNetFindings.clearedAt))),
  );
  const ofThisOrder = (table: typeof channelAttempts | typeof refunds, also: SQL) =>
    notExists(
      db
        .select({ one: sql`1` })
        .from(table)
        .where(and(eq(table.payOrderId, payOrders.id), also)),
    );
  const otherChecksFinding = notExists(
    db
      .select({ one: sql`1` })
      .from(safetyNetFindings)
      .where(
        and(
          eq(safetyNetFindings.payOrderId, payOrders.id),
          ne(safetyNetFindings.check, scope.check),
          isNull(safetyNetFindings.clearedAt),
        ),
      ),
  );
  const settled = and(
    inArray(payOrders.status, ['SUCCEEDED', 'CLOSED']),
    lt(payOrders.updatedAt, settledBefore),
    ofThisOrder(channelAttempts, gte(channelAttempts.updatedAt, settledBefore)),
    ofThisOrder(refunds, gte(refunds.updatedAt, settledBefore)),
    ofThisOrder(channelAttempts, inArray(channelAttempts.status, [...openStatuses])),
    ofThisOrder(refunds, eq(refunds.status, 'PROCESSING')),
  );
  // Flagging changes the order, and an operator's repair may put money in flight: an open
  // finding stays open, whatever the order's age, until its books are seen conserved.
  const openFinding = and(isNotNull(safetyNetFindings.id), isNull(safetyNetFindings.clearedAt));

  const orders = withPrior(
    await db
      .select({
        id: payOrders.id,
        status: payOrders.status,
        amount: payOrders.amount,
        currency: payOrders.currency,
        prior: safetyNetFindings.action,
        open: sql<boolean>`${openFinding}`,
      })
      .from(payOrders)
      .leftJoin(safetyNetFindings, findingOf(scope.check, payOrders.id))
      .where(
        and(
          gt(payOrders.id, after),
          inArray(payOrders.id, candidates),
          or(openFinding, and(settled, otherChecksFinding)),
          ofMerchant(payOrders.merchantId, scope),
        ),
      )
      .orderBy(asc(payOrders.id))
      .limit(moneyCheckPage),
  );
  if (orders.length === 0) return { orders, attempts: [], refunds: [] };
  const ids = orders.map((o) => o.id);
  const attempts = await db
    .select()
    .from(channelAttempts)
    .where(inArray(channelAttempts.payOrderId, ids));
  const refundRows = await db.select().from(refunds).where(inArray(refunds.payOrderId, ids));
  return { orders, attempts, refunds: refundRows };
}

/**
 * Pay orders still CREATED whose workflow was never started, made before `createdBefore`.
 */
export async function payOrdersNeverStarted(db: Db, scope: ScanScope, createdBefore: Date) {
  const rows = await db
    .select({ order: payOrders, prior: safetyNetFindings.action })
    .from(payOrders)
    .leftJoin(safetyNetFindings, findingOf(scope.check, payOrders.id))
    .where(
      and(
        eq(payOrders.workflowStarted, false),
        eq(payOrders.status, 'CREATED'),
        lt(payOrders.createdAt, createdBefore),
        ofMerchant(payOrders.merchantId, scope),
      ),
    )
    .orderBy(knownLast, asc(payOrders.createdAt))
    .limit(suspectsPerCheck + 1);
  return withPrior(rows);
}

/** Merchant refunds still PROCESSING whose workflow was never started, made before `createdBefore`. */
export async function merchantRefundsNeverStarted(db: Db, scope: ScanScope, createdBefore: Date) {
  const rows = await db
    .select({ refund: refunds, prior: safetyNetFindings.action })
    .from(refunds)
    .leftJoin(safetyNetFindings, findingOf(scope.check, refunds.id))
    .where(
      and(
        eq(refunds.workflowStarted, false),
        eq(refunds.status, 'PROCESSING'),
        // The workflows record their own refunds; only the API starts merchant refunds.
        eq(refunds.reason, merchantRefundReason),
        lt(refunds.createdAt, createdBefore),
        ofMerchant(refunds.merchantId, scope),
      ),
    )
    .orderBy(knownLast, asc(refunds.createdAt))
    .limit(suspectsPerCheck + 1);
  return withPrior(rows);
}

/** A finding acted on (or waited on) by the scan at `scannedAt`. */
export interface Finding {
  check: SafetyNetCheck;
  subject: string;
  payOrderId: string;
  action: FindingAction;
  detail: Record<string, unknown>;
  scannedAt: Date;
}

/** Records a finding; a retried activity counts its scan once. */
export async function recordFinding(db: Db, finding: Finding): Promise<void> {
  const { check, subject, payOrderId, action, detail, scannedAt } = finding;
  await db
    .insert(safetyNetFindings)
    .values({
      id: newId('snf', Date.now(), Math.random),
      check,
      subject,
      payOrderId,
      action,
      detail,
      firstSeenAt: scannedAt,
      lastSeenAt: scannedAt,
    })
    .onConflictDoUpdate({
      target: [safetyNetFindings.check, safetyNetFindings.subject],
      set: {
        action,
        detail,
        timesSeen: sql`case when ${safetyNetFindings.lastSeenAt} < ${before(scannedAt)}
          then ${safetyNetFindings.timesSeen} + 1 else ${safetyNetFindings.timesSeen} end`,
        lastSeenAt: scannedAt,
        clearedAt: null,
      },
    });
}

/** A finding seen again: counted once per scan. */
export async function findingSeenAgain(
  db: Db,
  check: SafetyNetCheck,
  subject: string,
  scannedAt: Date,
): Promise<void> {
  await db
    .update(safetyNetFindings)
    .set({
      timesSeen: sql`${safetyNetFindings.timesSeen} + 1`,
      lastSeenAt: scannedAt,
      clearedAt: null,
    })
    .where(
      and(
        eq(safetyNetFindings.check, check),
        eq(safetyNetFindings.subject, subject),
        lt(safetyNetFindings.lastSeenAt, scannedAt),
      ),
    );
}

/** Clears the check's findings the scan at `scannedAt` did not see (within its scope); answers how many. */
export async function clearFindingsGone(
  db: Db,
  scope: ScanScope,
  scannedAt: Date,
): Promise<number> {
  const cleared = await db
    .update(safetyNetFindings)
    .set({ clearedAt: scannedAt })
    .where(
      and(
        eq(safetyNetFindings.check, scope.check),
        isNull(safetyNetFindings.clearedAt),
        lt(safetyNetFindings.lastSeenAt, scannedAt),
        scope.merchantId
          ? inArray(
              safetyNetFindings.payOrderId,
              db
                .select({ id: payOrders.id })
                .from(payOrders)
                .where(eq(payOrders.merchantId, scope.merchantId)),
            )
          : undefined,
      ),
    )
    .returning({ id: safetyNetFindings.id });
  return cleared.length;
}

export async function countOpenFindings(db: Db): Promise<number> {
  const [row] = await db
    .select({ open: count() })
    .from(safetyNetFindings)
    .where(isNull(safetyNetFindings.clearedAt));
  return row?.open ?? 0;
}
