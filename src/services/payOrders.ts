// Pay orders as merchants see them: create (idempotent by merchant order no), read, pay.
import type { WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { and, asc, desc, eq, type SQL } from 'drizzle-orm';
import { signCashierToken } from '../domain/cashierTokens';
import { acceptedCurrencies, channelOrThrow, type ChannelRegistry } from '../channels/registry';
import {
  channelAttempts,
  merchantNotifications,
  merchants,
  payOrders,
  refunds,
} from '../db/schema';
import {
  cursorTime,
  newestFirst,
  pageConditions,
  pageOf,
  type PageQuery,
} from '../db/books/listPages';
import { DomainError, isErrorCode } from '../domain/errors';
import { newId } from '../domain/ids';
import type { Currency } from '../domain/money';
import { decidePay, type AttemptStatus, type PayRequest, type PayStatus } from '../domain/payOrder';
import {
  close,
  nothingToSync,
  pay,
  paymentWorkflowId,
  sync,
  type PayAnswer,
} from '../workflows/contracts/payment';
import type { ApiMetrics } from '../metrics';
import { recordAudit } from './audit';
import { merchantUrlProblems, type AddressPolicy } from './merchantUrls';
import { triesOf } from './merchantEvents';
import type { OrderTurns } from './orderTurns';
import { createPaymentWorkflows, type PaymentWorkflowDeps } from './paymentWorkflows';
import { isCompletedError, refusalOf, updateAcrossRuns } from './workflowUpdates';

export interface PayOrderServiceDeps extends PaymentWorkflowDeps {
  channels: ChannelRegistry;
  publicApiUrl: string;
  cashierTokenSecret: string;
  defaultExpiresInSeconds: number;
  /** Where notify and return URLs may lead. */
  addressPolicy: AddressPolicy;
  /** How long a request waits for the workflow's answer before 503 STILL_PROCESSING. */
  updateWaitSeconds: number;
  /** The API process's turns: how many requests of one pay order wait on its workflow at once. */
  turns: OrderTurns;
  metrics: Pick<ApiMetrics, 'payOrdersCreated'>;
}

type PayOrderRow = typeof payOrders.$inferSelect;

/** A merchant's new pay order, as the API has validated it (src/api/schemas/payOrders.ts). */
export interface NewPayOrder {
  merchantOrderNo: string;
  amount: number;
  currency: Currency;
  subject: string;
  expiresInSeconds?: number | undefined;
  notifyUrl?: string | undefined;
  returnUrl?: string | undefined;
}

/** Which of a merchant's pay orders to list, and where the page starts. */
export interface PayOrderListQuery extends PageQuery {
  status?: PayStatus | undefined;
  needsAttention?: boolean | undefined;
  merchantOrderNo?: string | undefined;
}

/** A pay order as listings and creation answer it. */
export interface PayOrderSummary {
  id: string;
  status: PayStatus;
  merchantOrderNo: string;
  amount: number;
  currency: Currency;
  subject: string;
  createdAt: string;
  expiresAt: string;
  cashierUrl: string;
}

/** The order as its payer sees it at the cashier: nothing of other orders or of the books. */
export interface PayerView {
  id: string;
  merchantName: string;
  merchantOrderNo: string;
  subject: string;
  amount: number;
  currency: Currency;
  status: PayStatus;
  expiresAt: string;
  returnUrl: string | null;
  latestAttempt: { channel: string; method: string; status: AttemptStatus } | null;
}

export function createPayOrderService(deps: PayOrderServiceDeps) {
  const { db, temporal, turns } = deps;

  function summary(row: PayOrderRow): PayOrderSummary {
    return {
      id: row.id,
      status: row.status as PayStatus,
      merchantOrderNo: row.merchantOrderNo,
      amount: row.amount,
      currency: row.currency as Currency,
      subject: row.subject,
      createdAt: row.createdAt.toISOString(),
      expiresAt: row.expiresAt.toISOString(),
      cashierUrl: `${deps.publicApiUrl}/cashier/${row.id}?token=${signCashierToken(deps.cashierTokenSecret, row.id, row.expiresAt)}`,
    };
  }

  /**
   * Runs an Update on the order's workflow across its runs, in the order's turn; past the
   * configured wait the call gives up (the Update goes on) and the API answers 503
   * STILL_PROCESSING. A request that had to wait for its turn is first answered by
   * `afterWaiting` if that finds an answer (what the requests before it did).
   */
  function updateWorkflow<T>(
    id: string,
    run: (handle: WorkflowHandle) => Promise<T>,
    afterWaiting?: () => Promise<T | undefined>,
  ): Promise<T> {
    const deadline = Date.now() + deps.updateWaitSeconds * 1000;
    return turns.inTurn(id, deadline, async (waited) => {
      const answered = waited ? await afterWaiting?.() : undefined;
      if (answered !== undefined) return answered;
      return updateAcrossRuns(temporal.workflow.getHandle(paymentWorkflowId(id)), (handle) =>
        temporal.withDeadline(deadline, () => run(handle)),
      );
    });
  }

  /**
   * Runs the order's sync Update, the workflow querying the channel now: SYNCED when it did,
   * NOTHING_OPEN when no channel order was open to ask about (no error), ENDED when the workflow
   * had completed (its books are final).
   */
  async function syncWithChannel(
    merchantId: string | undefined,
    id: string,
  ): Promise<'SYNCED' | 'NOTHING_OPEN' | 'ENDED'> {
    const row = await findById(merchantId, id);
    await ensureWorkflow(row);
    try {
      await updateWorkflow(id, (handle) => handle.executeUpdate(sync));
      return 'SYNCED';
    } catch (err) {
      if (isCompletedError(err)) return 'ENDED';
      if (refusalOf(err)?.type === nothingToSync) return 'NOTHING_OPEN';
      throw await payFailure(err, () => findById(merchantId, id));
    }
  }

  async function findByMerchantOrderNo(merchantId: string, merchantOrderNo: string) {
    const [row] = await db
      .select()
      .from(payOrders)
      .where(
        and(eq(payOrders.merchantId, merchantId), eq(payOrders.merchantOrderNo, merchantOrderNo)),
      );
    return row;
  }

  async function findById(merchantId: string | undefined, id: string) {
    const [row] = await db
      .select()
      .from(payOrders)
      .where(
        merchantId
          ? and(eq(payOrders.id, id), eq(payOrders.merchantId, merchantId))
          : eq(payOrders.id, id),
      );
    // Another merchant's order answers exactly like a missing one.
    if (!row) throw new DomainError('NOT_FOUND', `no pay order ${id}`);
    return row;
  }

  /**
   * The merchant notifications of one order, each with every delivery try, read from one snapshot:
   * a try and the DELIVERED it makes are written together, and are seen together.
   */
  function notificationsOf(merchantId: string, payOrderId: string) {
    return db.transaction(
      async (tx) => {
        const events = await tx
          .select()
          .from(merchantNotifications)
          .where(
            and(
              eq(merchantNotifications.payOrderId, payOrderId),
              eq(merchantNotifications.merchantId, merchantId),
            ),
          )
          .orderBy(asc(merchantNotifications.createdAt), asc(merchantNotifications.eventId));
        const tries = await triesOf(
          tx,
          events.map((e) => e.eventId),
        );
        return events.map((e) => ({
          eventId: e.eventId,
          type: e.type,
          status: e.status,
          attempts: tries.get(e.eventId) ?? [],
        }));
      },
      { isolationLevel: 'repeatable read', accessMode: 'read only' },
    );
  }

  /**
   * An order no channel of this deployment could take is refused at create, not at pay; a repeat
   * of an order stored before (when a channel took its currency) answers as every repeat does.
   */
  async function refuseUnacceptedCurrency(merchantId: string, request: NewPayOrder) {
    const { currency } = request;
    const accepted = acceptedCurrencies(deps.channels);
    if (accepted.includes(currency)) return;
    if (await findByMerchantOrderNo(merchantId, request.merchantOrderNo)) return;
    throw new DomainError(
      'CURRENCY_NOT_ACCEPTED',
      `no channel of this deployment takes ${currency}; accepted: ${accepted.join(', ') || 'none'}`,
      [{ field: 'body.currency', message: `must be one of: ${accepted.join(', ')}` }],
    );
  }

  /** Starts the order's workflow unless it is known to exist (src/services/paymentWorkflows.ts). */
  const { ensurePaymentWorkflow: ensureWorkflow } = createPaymentWorkflows(deps);

  /**
   * A repeated pay request for the open channel order is answered from the books, without an
   * Update (which would grow the workflow's history): the same rule the workflow applies, on
   * the stored record. Anything else, or a record not yet written, goes to the workflow.
   */
  async function reusableFromBooks(row: PayOrderRow, request: PayRequest) {
    if (row.status !== 'PAYING' || request.payerId) return undefined;
    const attempts = await db
      .select()
      .from(channelAttempts)
      .where(eq(channelAttempts.payOrderId, row.id));
    const decision = decidePay(
      {
        id: row.id,
        amount: row.amount,
        currency: row.currency as Currency,
        status: row.status,
        needsAttention: row.needsAttention,
        expiresAtMs: row.expiresAt.getTime(),
        attempts: attempts.map((a) => ({
          id: a.id,
          outTradeNo: a.outTradeNo,
          channel: a.channel,
          method: a.method,
          amount: a.amount,
          status: a.status as AttemptStatus,
          ...(a.payUrl ? { payUrl: a.payUrl } : {}),
        })),
      },
      request,
      Date.now(),
    );
    if (decision.kind !== 'reuse' || !decision.attempt.payUrl) return undefined;
    const { id, outTradeNo, channel, method, status, payUrl } = decision.attempt;
    return { attempt: { id, outTradeNo, channel, method, status, payUrl } } satisfies PayAnswer;
  }

  return {
    /** Answers `created: false` with the stored order when the same request came before. */
    async create(merchantId: string, request: NewPayOrder) {
      await refuseUnacceptedCurrency(merchantId, request);
      const urlProblems = await merchantUrlProblems(
        { notifyUrl: request.notifyUrl, returnUrl: request.returnUrl },
        deps.addressPolicy,
      );
      if (urlProblems.length > 0) {
        throw new DomainError(
          'VALIDATION_FAILED',
          `invalid body: ${urlProblems.map((p) => `${p.field} ${p.message}`).join('; ')}`,
          urlProblems,
        );
      }
      const now = Date.now();
      const expiresInSeconds = request.expiresInSeconds ?? deps.defaultExpiresInSeconds;
      const [inserted] = await db
        .insert(payOrders)
        .values({
          id: newId('po', now, Math.random),
          merchantId,
          merchantOrderNo: request.merchantOrderNo,
          amount: request.amount,
          currency: request.currency,
          subject: request.subject,
          expiresAt: new Date(now + expiresInSeconds * 1000),
          notifyUrl: request.notifyUrl ?? null,
          returnUrl: request.returnUrl ?? null,
        })
        .onConflictDoNothing({ target: [payOrders.merchantId, payOrders.merchantOrderNo] })
        .returning();
      // Counted as stored: its workflow may start only later (the safety net's), but it exists.
      if (inserted) deps.metrics.payOrdersCreated.inc({ currency: inserted.currency });
      const row = inserted ?? (await findByMerchantOrderNo(merchantId, request.merchantOrderNo));
      if (!row) throw new Error('pay order vanished after conflict');
      if (!inserted && (row.amount !== request.amount || row.currency !== request.currency)) {
        throw new DomainError(
          'PAY_ORDER_CONFLICT',
          `merchantOrderNo ${request.merchantOrderNo} already has a pay order with another amount or currency`,
          [
            ...(row.amount !== request.amount
              ? [{ field: 'amount', message: `the stored order has ${row.amount}` }]
              : []),
            ...(row.currency !== request.currency
              ? [{ field: 'currency', message: `the stored order has ${row.currency}` }]
              : []),
          ],
        );
      }
      await ensureWorkflow(row);
      deps.log.info({ payOrderId: row.id, created: !!inserted }, 'pay order created');
      return { created: !!inserted, payOrder: summary(row) };
    },

    /** The merchant's orders, newest first, a page at a time (src/db/books/listPages.ts). */
    async list(merchantId: string, query: PayOrderListQuery) {
      const keys = { createdAt: payOrders.createdAt, id: payOrders.id };
      const conditions: SQL[] = [eq(payOrders.merchantId, merchantId)];
      if (query.status) conditions.push(eq(payOrders.status, query.status));
      if (query.needsAttention !== undefined) {
        conditions.push(eq(payOrders.needsAttention, query.needsAttention));
      }
      if (query.merchantOrderNo) {
        conditions.push(eq(payOrders.merchantOrderNo, query.merchantOrderNo));
      }
      const rows = await db
        .select({ row: payOrders, createdAt: cursorTime(keys) })
        .from(payOrders)
        .where(and(...conditions, ...pageConditions(keys, query)))
        .orderBy(...newestFirst(keys))
        .limit(query.limit + 1);
      const { page, nextCursor } = pageOf(rows, query.limit, (r) => ({
        createdAt: r.createdAt,
        id: r.row.id,
      }));
      return { items: page.map((r) => summary(r.row)), nextCursor };
    },

    /** `merchantId` scopes the lookup; undefined only for the payer's cashier page. */
    async get(merchantId: string | undefined, id: string) {
      const row = await findById(merchantId, id);
      // An order whose workflow start was lost (a crash after the insert) heals when read; if
      // Temporal is down the read still answers, and the safety net starts it later.
      await ensureWorkflow(row).catch((err: unknown) =>
        deps.log.warn({ err, payOrderId: id }, 'could not start the payment workflow'),
      );
      const attempts = await db
        .select()
        .from(channelAttempts)
        .where(eq(channelAttempts.payOrderId, id))
        .orderBy(asc(channelAttempts.createdAt), asc(channelAttempts.id));
      const refundRows = await db
        .select()
        .from(refunds)
        .where(eq(refunds.payOrderId, id))
        .orderBy(asc(refunds.createdAt));
      return {
        ...summary(row),
        needsAttention: row.needsAttention,
        paidAt: row.paidAt?.toISOString() ?? null,
        attempts: attempts.map((a) => ({
          id: a.id,
          outTradeNo: a.outTradeNo,
          channel: a.channel,
          method: a.method,
          status: a.status as AttemptStatus,
          amount: a.amount,
          ...(a.paidAmount !== null ? { paidAmount: a.paidAmount } : {}),
        })),
        refunds: refundRows.map((r) => ({
          id: r.id,
          attemptId: r.attemptId,
          amount: r.amount,
          reason: r.reason,
          status: r.status,
        })),
        notifications: await notificationsOf(row.merchantId, id),
      };
    },

    async pay(
      merchantId: string | undefined,
      id: string,
      request: { channel: string; method?: string; payerId?: string; returnUrl?: string },
    ) {
      const channel = channelOrThrow(deps.channels, request.channel);
      const method = request.method ?? channel.methods[0];
      if (!channel.methods.includes(method)) {
        throw new DomainError(
          'VALIDATION_FAILED',
          `channel ${channel.name} has no method ${method}`,
          [{ field: 'method', message: `must be one of: ${channel.methods.join(', ')}` }],
        );
      }
      if (channel.methodsNeedingPayer?.includes(method) && !request.payerId) {
        throw new DomainError(
          'VALIDATION_FAILED',
          `${channel.name} ${method} pays as a known user`,
          [{ field: 'body.payerId', message: `is required for ${channel.name} ${method}` }],
        );
      }
      const row = await findById(merchantId, id);
      if (!channel.currencies.includes(row.currency as Currency)) {
        throw new DomainError(
          'UNSUPPORTED_CHANNEL',
          `channel ${channel.name} does not take ${row.currency}`,
          [{ field: 'channel', message: `does not support ${row.currency}` }],
        );
      }
      await ensureWorkflow(row);
      const payRequest: PayRequest = {
        channel: channel.name,
        method,
        ...(request.payerId ? { payerId: request.payerId } : {}),
        ...(request.returnUrl ? { returnUrl: request.returnUrl } : {}),
      };
      const fromBooks = await reusableFromBooks(row, payRequest);
      if (fromBooks) return fromBooks;
      try {
        return await updateWorkflow<PayAnswer>(
          id,
          (handle) => handle.executeUpdate(pay, { args: [payRequest] }),
          async () => reusableFromBooks(await findById(merchantId, id), payRequest),
        );
      } catch (err) {
        throw await payFailure(err, () => findById(merchantId, id));
      }
    },

    /** Queries the channel now and answers the fresh record ("I have finished paying"). */
    async sync(merchantId: string, id: string) {
      await syncWithChannel(merchantId, id);
      return this.get(merchantId, id);
    },

    /** What the payer's cashier shows: the order, its merchant and its latest channel order. */
    async payerView(id: string): Promise<PayerView> {
      const [found] = await db
        .select({ row: payOrders, merchantName: merchants.name })
        .from(payOrders)
        .innerJoin(merchants, eq(merchants.id, payOrders.merchantId))
        .where(eq(payOrders.id, id));
      if (!found) throw new DomainError('NOT_FOUND', `no pay order ${id}`);
      const { row, merchantName } = found;
      const [latest] = await db
        .select()
        .from(channelAttempts)
        .where(eq(channelAttempts.payOrderId, id))
        .orderBy(desc(channelAttempts.createdAt), desc(channelAttempts.id))
        .limit(1);
      return {
        id: row.id,
        merchantName,
        merchantOrderNo: row.merchantOrderNo,
        subject: row.subject,
        amount: row.amount,
        currency: row.currency as Currency,
        status: row.status as PayStatus,
        expiresAt: row.expiresAt.toISOString(),
        returnUrl: row.returnUrl,
        latestAttempt: latest
          ? {
              channel: latest.channel,
              method: latest.method,
              status: latest.status as AttemptStatus,
            }
          : null,
      };
    },

    /** The payer's "I have paid": the channel is asked now, then the payer's view answers. */
    async payerSync(id: string): Promise<PayerView> {
      await syncWithChannel(undefined, id);
      return this.payerView(id);
    },

    /** An operator's "sync with the channel now", of any merchant's order; audited. */
    async operatorSync(id: string, operator: string) {
      const before = await findById(undefined, id);
      const outcome = await syncWithChannel(undefined, id);
      const after = await findById(undefined, id);
      await recordAudit(db, {
        operator,
        action: 'pay_order.sync',
        subject: { type: 'pay_order', id },
        before: { status: before.status, needsAttention: before.needsAttention },
        after: { status: after.status, needsAttention: after.needsAttention, outcome },
      });
      return { outcome, status: after.status as PayStatus };
    },

    /** Closes the order (and its open channel order at the channel); a paid order stays paid. */
    async close(merchantId: string, id: string) {
      const row = await findById(merchantId, id);
      await ensureWorkflow(row);
      try {
        await updateWorkflow(id, (handle) => handle.executeUpdate(close));
      } catch (err) {
        const failure = await payFailure(err, () => findById(merchantId, id));
        if (!(failure instanceof DomainError && failure.code === 'ORDER_CLOSED')) throw failure;
      }
      return this.get(merchantId, id);
    },
  };
}

/**
 * Turns the Update's refusal into the domain error the API maps to a 409 or 5xx; a workflow that
 * had completed is told paid or closed by the order's books as they are now (a request may have
 * waited its turn while the order was paid).
 */
async function payFailure(err: unknown, booksNow: () => Promise<PayOrderRow>): Promise<unknown> {
  const refusal = refusalOf(err);
  if (refusal && isErrorCode(refusal.type)) {
    return new DomainError(refusal.type, refusal.message, [], declineCodeOf(refusal));
  }
  if (isCompletedError(err)) {
    return (await booksNow()).status === 'SUCCEEDED'
      ? new DomainError('ALREADY_PAID', 'the pay order is already paid')
      : new DomainError('ORDER_CLOSED', 'the pay order is closed or expired');
  }
  return err;
}

/**
 * The channel's own code for a refused or declined channel order, where the refusal carries one
 * (its first detail, `{ declineCode }`).
 */
function declineCodeOf(refusal: ApplicationFailure): string | undefined {
  const [detail] = refusal.details ?? [];
  if (detail === null || typeof detail !== 'object' || !('declineCode' in detail)) return undefined;
  return typeof detail.declineCode === 'string' ? detail.declineCode : undefined;
}

export type PayOrderService = ReturnType<typeof createPayOrderService>;
