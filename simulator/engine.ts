// The simulator's trade engine, one for every channel face: trades, the payer, notifications with
// retries, and switchable faults (global, or for one trade over the global ones). Trades, refunds
// and the notifications still owed are kept in a journal (./journal.ts), so a restarted simulator
// knows them all and sends what is due; faults are test settings and live in memory only.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { Journal, type JournalTable } from './journal';
import {
  statementDayBounds,
  type ChannelTrade,
  type GatewayErrorCode,
  type Refund,
  type RefundRequest,
  type TradeNotification,
  type TradeRequest,
  type TradeStatus,
} from './trades';

export interface Faults {
  dropNotifications?: boolean;
  duplicateNotifications?: boolean;
  /** After a success notification, also send a stale WAIT_BUYER_PAY one. */
  reorderNotifications?: boolean;
  delayNotificationsMs?: number;
  failQueries?: boolean;
  /** Answer queries this late, e.g. past the caller's timeout, so that they time out. */
  slowQueriesMs?: number;
  /** Refunds answer REFUND_PROCESSING, and still do at the first refund query after. */
  slowRefunds?: boolean;
  /** The next this many refund queries are refused as too frequent (each channel's rate limit). */
  rateLimitRefundQueries?: number;
}

export interface NotificationLogEntry {
  notifyId: string;
  tradeStatus: TradeStatus;
  attempt: number;
  at: string;
  outcome: string;
}

/** A refund with the moment it was made (statements list refunds by day). */
export interface RefundEntry extends Refund {
  at: string;
}

interface Trade extends ChannelTrade {
  /** The channel whose face created it: notifications and statements speak its protocol. */
  channel: string;
  request: TradeRequest;
  refunds: RefundEntry[];
  expiresAtMs: number;
  createdAt: string;
  closedAt?: string;
  /**
   * A trade that exists at the channel only once the payer opens it (an Alipay precreate QR code
   * nobody has scanned yet): until then the channel's API answers TRADE_NOT_EXIST for it, although
   * the payer can still open and pay it until it expires.
   */
  existsOnceOpened: boolean;
  openedAt?: string;
  notifications: NotificationLogEntry[];
}

/**
 * A notification the channel still owes: sent when due, then again on the face's retry schedule
 * until it is acknowledged or given up.
 */
interface Delivery {
  id: string;
  outTradeNo: string;
  notification: TradeNotification;
  /** The attempt due next, 0 for the first. */
  attempt: number;
  dueAtMs: number;
  /** Sent once this delivery has ended (the reorder fault's stale status after the success). */
  then?: TradeNotification;
}

export class GatewayError extends Error {
  constructor(
    readonly code: GatewayErrorCode,
    readonly httpStatus: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * How one channel's face sends notifications: its wire format and signature, what answer stops
 * its retries, and its retry schedule. The trade engine itself is the same for every channel.
 */
export interface NotificationFace {
  encodeNotification(
    trade: ChannelTrade,
    notification: TradeNotification,
  ): { body: string; headers: Record<string, string> };
  isAcknowledged(httpStatus: number, body: string): boolean;
  retrySeconds: number[];
}

/** One line of a channel's daily statement: a payment or a refund that happened that day. */
export interface StatementEntry {
  kind: 'PAYMENT' | 'REFUND';
  outTradeNo: string;
  tradeNo: string;
  /** Minor units; what was paid (a payer may pay another amount) or refunded. */
  amount: number;
  currency: string;
  refundNo?: string;
  at: string;
  subject: string;
}

export interface EngineOptions {
  publicUrl: string;
  faces: ReadonlyMap<string, NotificationFace>;
  log: Logger;
  /** Where trades and owed notifications are kept; in memory when absent. */
  journal?: Journal;
}

export class TradeEngine {
  private readonly journal: Journal;
  private readonly trades: JournalTable<Trade>;
  private readonly deliveries: JournalTable<Delivery>;
  /** The timer of each delivery waiting for its next attempt. */
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private stopped = false;
  /** Wakes every pending slow answer, so that stopping never leaves a request hanging. */
  private readonly wakers = new Set<() => void>();
  private faults: Faults = {};
  /** Faults for one trade, over the global ones: a test can break one payment among many. */
  private readonly tradeFaults = new Map<string, Faults>();
  private tradeSeq = 0;

  /** Picks up where the journal left off: every owed notification is sent when due. */
  constructor(private readonly options: EngineOptions) {
    this.journal = options.journal ?? Journal.inMemory();
    this.trades = this.journal.table<Trade>('trades');
    this.deliveries = this.journal.table<Delivery>('deliveries');
    for (const delivery of this.deliveries.values()) this.arm(delivery);
  }

  createTrade(
    channel: string,
    request: TradeRequest,
    options: { existsOnceOpened?: boolean } = {},
  ): ChannelTrade {
    const existing = this.trades.get(request.out_trade_no);
    if (existing) {
      const same =
        existing.request.total_amount === request.total_amount &&
        existing.request.currency === request.currency;
      if (!same || existing.channel !== channel) {
        throw new GatewayError('OUT_TRADE_NO_USED', 409, 'out_trade_no used with other amount');
      }
      return this.view(existing); // a repeated create is answered, not duplicated
    }
    const expiresAtMs = Date.parse(request.time_expire);
    if (Number.isNaN(expiresAtMs)) {
      throw new GatewayError('INVALID_REQUEST', 400, 'time_expire is not a date');
    }
    const tradeNo = `SBX${Date.now()}${String(++this.tradeSeq).padStart(6, '0')}`;
    const trade: Trade = {
      channel,
      out_trade_no: request.out_trade_no,
      trade_no: tradeNo,
      trade_status: 'WAIT_BUYER_PAY',
      total_amount: request.total_amount,
      currency: request.currency,
      pay_url: `${this.options.publicUrl}/pay/${encodeURIComponent(request.out_trade_no)}`,
      request,
      expiresAtMs,
      createdAt: new Date().toISOString(),
      existsOnceOpened: options.existsOnceOpened ?? false,
      notifications: [],
      refunds: [],
    };
    this.trades.set(trade.out_trade_no, trade);
    return this.view(trade);
  }

  async queryTrade(outTradeNo: string): Promise<ChannelTrade> {
    await this.queryFaults(outTradeNo);
    return this.view(this.tradeAtChannel(outTradeNo));
  }

  closeTrade(outTradeNo: string): ChannelTrade {
    const trade = this.tradeAtChannel(outTradeNo);
    if (trade.trade_status === 'TRADE_SUCCESS') {
      throw new GatewayError('TRADE_HAS_SUCCESS', 409, 'trade is already paid');
    }
    if (trade.trade_status === 'WAIT_BUYER_PAY') {
      trade.trade_status = 'TRADE_CLOSED';
      trade.closedAt = new Date().toISOString();
      this.save(trade);
    }
    return this.view(trade);
  }

  /** The payer opens the trade's pay page (scans its QR code) before it expires. */
  open(outTradeNo: string): ChannelTrade {
    const trade = this.tradeOrThrow(outTradeNo);
    if (!trade.openedAt && Date.now() < trade.expiresAtMs) {
      trade.openedAt = new Date().toISOString();
      this.save(trade);
    }
    return this.view(trade);
  }

  /**
   * The payer pays. `force` is the control API's late payer, who pays even a closed or expired
   * trade (as a real channel may, when its close and the payment cross). `amount` is a payer who
   * pays another amount than the trade's (a channel bug, a tampered page): the trade then reports
   * what was paid, as a real channel's books would.
   */
  pay(outTradeNo: string, options: { force: boolean; amount?: number }): ChannelTrade {
    const trade = this.tradeOrThrow(outTradeNo);
    if (trade.trade_status === 'TRADE_SUCCESS') {
      throw new GatewayError('TRADE_HAS_SUCCESS', 409, 'trade is already paid');
    }
    if (!options.force) {
      if (trade.trade_status === 'TRADE_CLOSED') {
        throw new GatewayError('TRADE_HAS_CLOSE', 409, 'trade is closed');
      }
      if (Date.now() >= trade.expiresAtMs) {
        throw new GatewayError('TRADE_HAS_CLOSE', 409, 'trade has expired');
      }
    }
    trade.openedAt ??= new Date().toISOString();
    trade.trade_status = 'TRADE_SUCCESS';
    trade.gmt_payment = new Date().toISOString();
    if (options.amount !== undefined) trade.total_amount = options.amount;
    // The payment and the notifications it owes reach the journal together.
    this.journal.atomically(() => {
      this.save(trade);
      this.notify(trade);
    });
    return this.view(trade);
  }

  /**
   * The channel reverses a payment (冲正, a risk-control cancellation): the trade is closed and its
   * payment leaves the channel's books and statement, with no notification.
   */
  reverse(outTradeNo: string): ChannelTrade {
    const trade = this.tradeOrThrow(outTradeNo);
    if (trade.trade_status !== 'TRADE_SUCCESS') {
      throw new GatewayError('TRADE_NOT_PAID', 409, 'only a paid trade can be reversed');
    }
    if (trade.refunds.length > 0) {
      throw new GatewayError('INVALID_REQUEST', 409, 'a refunded trade cannot be reversed');
    }
    trade.trade_status = 'TRADE_CLOSED';
    trade.closedAt = new Date().toISOString();
    delete trade.gmt_payment;
    this.save(trade);
    return this.view(trade);
  }

  /**
   * A payment made at the channel outside any order paycenter opened (another system on the same
   * merchant account, a payer paying a reused QR code): booked, and notified nowhere.
   */
  payOutside(
    channel: string,
    payment: { outTradeNo: string; amount: number; currency: string; subject: string },
  ): ChannelTrade {
    return this.journal.atomically(() => {
      this.createTrade(channel, {
        out_trade_no: payment.outTradeNo,
        total_amount: payment.amount,
        currency: payment.currency,
        subject: payment.subject,
        method: 'page',
        time_expire: new Date(Date.now() + 3600_000).toISOString(),
        notify_url: '',
      });
      return this.pay(payment.outTradeNo, { force: true });
    });
  }

  /**
   * Refunds are immediate in the simulator unless slowRefunds is on; a repeated out_request_no
   * answers the same refund.
   */
  refund(request: RefundRequest): Refund {
    const trade = this.tradeAtChannel(request.out_trade_no);
    const existing = trade.refunds.find((r) => r.out_request_no === request.out_request_no);
    if (existing) return refundView(existing);
    if (trade.trade_status !== 'TRADE_SUCCESS') {
      throw new GatewayError('TRADE_NOT_PAID', 409, 'only a paid trade can be refunded');
    }
    const refunded = trade.refunds.reduce((sum, r) => sum + r.refund_amount, 0);
    if (refunded + request.refund_amount > trade.total_amount) {
      throw new GatewayError('REFUND_AMOUNT_EXCEEDED', 409, 'refunds would exceed the payment');
    }
    const slow = this.faultsFor(trade.out_trade_no).slowRefunds;
    const refund: RefundEntry = {
      ...request,
      refund_status: slow ? 'REFUND_PROCESSING' : 'REFUND_SUCCESS',
      at: new Date().toISOString(),
    };
    trade.refunds.push(refund);
    this.save(trade);
    return refundView(refund);
  }

  async queryRefund(outTradeNo: string, outRequestNo: string): Promise<Refund> {
    await this.queryFaults(outTradeNo);
    if (this.takeRateLimit(outTradeNo)) {
      throw new GatewayError('FREQUENCY_LIMITED', 429, 'refund queried too often (fault)');
    }
    const refund = this.tradeAtChannel(outTradeNo).refunds.find(
      (r) => r.out_request_no === outRequestNo,
    );
    if (!refund) throw new GatewayError('REFUND_NOT_EXIST', 404, `no refund ${outRequestNo}`);
    const answer = refundView(refund);
    // A processing refund completes once it has been seen processing by one query.
    if (refund.refund_status === 'REFUND_PROCESSING') {
      refund.refund_status = 'REFUND_SUCCESS';
      this.save(this.tradeOrThrow(outTradeNo));
    }
    return answer;
  }

  /** What happened at one channel on one statement day (yyyy-MM-dd, Beijing time). */
  statement(channel: string, day: string): StatementEntry[] {
    const { from, to } = statementDayBounds(day);
    const within = (at: string | undefined) =>
      at !== undefined && Date.parse(at) >= from.getTime() && Date.parse(at) < to.getTime();
    const entries: StatementEntry[] = [];
    for (const trade of this.trades.values()) {
      if (trade.channel !== channel) continue;
      const common = {
        outTradeNo: trade.out_trade_no,
        tradeNo: trade.trade_no,
        currency: trade.currency,
        subject: trade.request.subject,
      };
      if (trade.trade_status === 'TRADE_SUCCESS' && within(trade.gmt_payment)) {
        entries.push({
          ...common,
          kind: 'PAYMENT',
          amount: trade.total_amount,
          at: trade.gmt_payment!,
        });
      }
      for (const refund of trade.refunds) {
        if (refund.refund_status !== 'REFUND_SUCCESS' || !within(refund.at)) continue;
        entries.push({
          ...common,
          kind: 'REFUND',
          amount: refund.refund_amount,
          refundNo: refund.out_request_no,
          at: refund.at,
        });
      }
    }
    return entries.sort((a, b) => a.at.localeCompare(b.at));
  }

  inspect(outTradeNo: string) {
    const trade = this.tradeOrThrow(outTradeNo);
    return {
      channel: trade.channel,
      ...this.view(trade),
      // What the trade asked for, next to total_amount (what was paid, when a payer paid another).
      requested_amount: trade.request.total_amount,
      closed_at: trade.closedAt,
      opened_at: trade.openedAt,
      notifications: trade.notifications,
      refunds: trade.refunds,
    };
  }

  /** Every trade, oldest first: what the channel knows, to compare with paycenter's books. */
  list() {
    return [...this.trades.values()].map((trade) => ({
      channel: trade.channel,
      out_trade_no: trade.out_trade_no,
      trade_status: trade.trade_status,
      total_amount: trade.total_amount,
      currency: trade.currency,
      subject: trade.request.subject,
      created_at: trade.createdAt,
    }));
  }

  setFaults(faults: Faults) {
    this.faults = { ...faults };
  }

  clearFaults() {
    this.faults = {};
  }

  currentFaults(): Faults {
    return { ...this.faults };
  }

  setTradeFaults(outTradeNo: string, faults: Faults): Faults {
    this.tradeOrThrow(outTradeNo);
    this.tradeFaults.set(outTradeNo, { ...faults });
    return this.currentTradeFaults(outTradeNo);
  }

  clearTradeFaults(outTradeNo: string): Faults {
    this.tradeOrThrow(outTradeNo);
    this.tradeFaults.delete(outTradeNo);
    return this.currentTradeFaults(outTradeNo);
  }

  currentTradeFaults(outTradeNo: string): Faults {
    this.tradeOrThrow(outTradeNo);
    return { ...this.tradeFaults.get(outTradeNo) };
  }

  returnUrl(outTradeNo: string): string | undefined {
    return this.trades.get(outTradeNo)?.request.return_url;
  }

  /** Stops sending; what is still owed stays in the journal for the next start. */
  stop() {
    this.stopped = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    for (const wake of this.wakers) wake();
  }

  /** Records the trade as it is now (every change to a trade ends here). */
  private save(trade: Trade) {
    this.trades.set(trade.out_trade_no, trade);
  }

  /** The faults that apply to one trade: the global ones, overridden by the trade's own. */
  private faultsFor(outTradeNo: string): Faults {
    return { ...this.faults, ...this.tradeFaults.get(outTradeNo) };
  }

  /** A slow gateway answers late (what it knows by then); a failing one answers 503. */
  private async queryFaults(outTradeNo: string) {
    const faults = this.faultsFor(outTradeNo);
    if (faults.slowQueriesMs) await this.pause(faults.slowQueriesMs);
    if (faults.failQueries) throw new GatewayError('SYSTEM_ERROR', 503, 'query failed (fault)');
  }

  /** Uses up one rate-limited answer, from the trade's own faults if it has that fault, else the global. */
  private takeRateLimit(outTradeNo: string): boolean {
    const own = this.tradeFaults.get(outTradeNo);
    const faults = own?.rateLimitRefundQueries !== undefined ? own : this.faults;
    if (!faults.rateLimitRefundQueries) return false;
    faults.rateLimitRefundQueries -= 1;
    return true;
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.wakers.add(wake);
    });
  }

  private faceOf(trade: Trade): NotificationFace {
    const face = this.options.faces.get(trade.channel);
    if (!face) throw new Error(`no simulator face for channel ${trade.channel}`);
    return face;
  }

  private tradeOrThrow(outTradeNo: string): Trade {
    const trade = this.trades.get(outTradeNo);
    if (!trade) throw new GatewayError('TRADE_NOT_EXIST', 404, `no trade ${outTradeNo}`);
    return trade;
  }

  /** A trade as the channel's API sees it: one the payer has yet to open does not exist there. */
  private tradeAtChannel(outTradeNo: string): Trade {
    const trade = this.tradeOrThrow(outTradeNo);
    if (trade.existsOnceOpened && !trade.openedAt) {
      throw new GatewayError('TRADE_NOT_EXIST', 404, `no trade ${outTradeNo} (not opened yet)`);
    }
    return trade;
  }

  private view(trade: Trade): ChannelTrade {
    const {
      channel: _channel,
      request: _r,
      expiresAtMs: _e,
      createdAt: _c,
      closedAt: _d,
      existsOnceOpened: _x,
      openedAt: _o,
      notifications: _n,
      ...wire
    } = trade;
    return { ...wire };
  }

  /** The notifications a payment owes, as the faults shape them; recorded with the payment. */
  private notify(trade: Trade) {
    const faults = this.faultsFor(trade.out_trade_no);
    const success = this.notification(trade, 'TRADE_SUCCESS');
    const unsent = !trade.request.notify_url
      ? 'not sent (no notify_url)'
      : faults.dropNotifications
        ? 'dropped (fault)'
        : undefined;
    if (unsent) {
      trade.notifications.push(this.logEntry(success, 0, unsent));
      this.save(trade);
      return;
    }
    // The stale status goes out only once the success delivery has ended, so it certainly
    // arrives after the success was acknowledged: the worst order, and a deterministic one.
    const stale = faults.reorderNotifications
      ? this.notification(trade, 'WAIT_BUYER_PAY')
      : undefined;
    const dueAtMs = Date.now() + (faults.delayNotificationsMs ?? 0);
    this.owe(trade, success, dueAtMs, stale);
    if (faults.duplicateNotifications) this.owe(trade, success, dueAtMs);
  }

  private notification(trade: Trade, status: TradeStatus): TradeNotification {
    return {
      notify_id: randomUUID(),
      out_trade_no: trade.out_trade_no,
      trade_no: trade.trade_no,
      trade_status: status,
      total_amount: trade.total_amount,
      currency: trade.currency,
      ...(status === 'TRADE_SUCCESS' && trade.gmt_payment
        ? { gmt_payment: trade.gmt_payment }
        : {}),
    };
  }

  /** Records a notification as owed and sends it when due. */
  private owe(
    trade: Trade,
    notification: TradeNotification,
    dueAtMs: number,
    then?: TradeNotification,
  ) {
    const delivery: Delivery = {
      id: randomUUID(),
      outTradeNo: trade.out_trade_no,
      notification,
      attempt: 0,
      dueAtMs,
      ...(then ? { then } : {}),
    };
    this.deliveries.set(delivery.id, delivery);
    this.arm(delivery);
  }

  private arm(delivery: Delivery) {
    if (this.stopped) return;
    const timer = setTimeout(
      () => {
        this.timers.delete(delivery.id);
        this.deliver(delivery.id).catch((err) =>
          this.options.log.error(
            { err, outTradeNo: delivery.outTradeNo },
            'simulator notify failed',
          ),
        );
      },
      Math.max(0, delivery.dueAtMs - Date.now()),
    );
    this.timers.set(delivery.id, timer);
  }

  /**
   * Makes one attempt of an owed notification; then schedules the next attempt on the face's
   * retry schedule, or, acknowledged or given up, ends it (and owes its follow-up, if any).
   */
  private async deliver(id: string) {
    const delivery = this.deliveries.get(id);
    if (!delivery || this.stopped) return;
    const trade = this.tradeOrThrow(delivery.outTradeNo);
    const face = this.faceOf(trade);
    const { body, headers } = face.encodeNotification(this.view(trade), delivery.notification);
    let acknowledged = false;
    let outcome: string;
    try {
      const response = await fetch(trade.request.notify_url, {
        method: 'POST',
        headers,
        body,
        signal: AbortSignal.timeout(10_000),
      });
      const answer = (await response.text()).trim();
      acknowledged = face.isAcknowledged(response.status, answer);
      outcome = acknowledged ? 'acknowledged' : `HTTP ${response.status} ${answer.slice(0, 200)}`;
    } catch (err) {
      outcome = `error: ${(err as Error).message}`;
    }
    if (this.stopped) return; // still owed: the next start sends it again
    const retryInSeconds = acknowledged ? undefined : face.retrySeconds[delivery.attempt];
    if (!acknowledged && retryInSeconds === undefined) {
      this.options.log.warn({ outTradeNo: trade.out_trade_no }, 'simulator gave up notifying');
    }
    this.journal.atomically(() => {
      trade.notifications.push(this.logEntry(delivery.notification, delivery.attempt, outcome));
      this.save(trade);
      if (retryInSeconds !== undefined) {
        const next: Delivery = {
          ...delivery,
          attempt: delivery.attempt + 1,
          dueAtMs: Date.now() + retryInSeconds * 1000,
        };
        this.deliveries.set(id, next);
        this.arm(next);
        return;
      }
      this.deliveries.delete(id);
      if (delivery.then) this.owe(trade, delivery.then, Date.now());
    });
  }

  private logEntry(n: TradeNotification, attempt: number, outcome: string): NotificationLogEntry {
    return {
      notifyId: n.notify_id,
      tradeStatus: n.trade_status,
      attempt,
      at: new Date().toISOString(),
      outcome,
    };
  }
}

function refundView({ at: _at, ...refund }: RefundEntry): Refund {
  return refund;
}
