// The sandbox channel's gateway: trades, the payer, notifications with retries, and switchable faults.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import {
  signedHeaders,
  type SandboxCreateRequest,
  type SandboxErrorCode,
  type SandboxNotification,
  type SandboxRefund,
  type SandboxRefundRequest,
  type SandboxTrade,
  type SandboxTradeStatus,
} from '../channels/sandbox/protocol';

export interface Faults {
  dropNotifications?: boolean;
  duplicateNotifications?: boolean;
  /** After a success notification, also send a stale WAIT_BUYER_PAY one. */
  reorderNotifications?: boolean;
  delayNotificationsMs?: number;
  failQueries?: boolean;
}

export interface NotificationLogEntry {
  notifyId: string;
  tradeStatus: SandboxTradeStatus;
  attempt: number;
  at: string;
  outcome: string;
}

interface Trade extends SandboxTrade {
  request: SandboxCreateRequest;
  refunds: SandboxRefund[];
  expiresAtMs: number;
  createdAt: string;
  closedAt?: string;
  notifications: NotificationLogEntry[];
}

export class GatewayError extends Error {
  constructor(
    readonly code: SandboxErrorCode,
    readonly httpStatus: number,
    message: string,
  ) {
    super(message);
  }
}

export interface GatewayOptions {
  appId: string;
  secret: string;
  publicUrl: string;
  /** Delays between notification deliveries until the merchant answers `success`. */
  notifyRetrySeconds: number[];
  log: Logger;
}

export class SandboxGateway {
  private readonly trades = new Map<string, Trade>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private faults: Faults = {};
  private tradeSeq = 0;

  constructor(private readonly options: GatewayOptions) {}

  createTrade(request: SandboxCreateRequest): SandboxTrade {
    const existing = this.trades.get(request.out_trade_no);
    if (existing) {
      const same =
        existing.request.total_amount === request.total_amount &&
        existing.request.currency === request.currency;
      if (!same) {
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
      out_trade_no: request.out_trade_no,
      trade_no: tradeNo,
      trade_status: 'WAIT_BUYER_PAY',
      total_amount: request.total_amount,
      currency: request.currency,
      pay_url: `${this.options.publicUrl}/pay/${encodeURIComponent(request.out_trade_no)}`,
      request,
      expiresAtMs,
      createdAt: new Date().toISOString(),
      notifications: [],
      refunds: [],
    };
    this.trades.set(trade.out_trade_no, trade);
    return this.view(trade);
  }

  queryTrade(outTradeNo: string): SandboxTrade {
    if (this.faults.failQueries)
      throw new GatewayError('SYSTEM_ERROR', 503, 'query failed (fault)');
    return this.view(this.tradeOrThrow(outTradeNo));
  }

  closeTrade(outTradeNo: string): SandboxTrade {
    const trade = this.tradeOrThrow(outTradeNo);
    if (trade.trade_status === 'TRADE_SUCCESS') {
      throw new GatewayError('TRADE_HAS_SUCCESS', 409, 'trade is already paid');
    }
    if (trade.trade_status === 'WAIT_BUYER_PAY') {
      trade.trade_status = 'TRADE_CLOSED';
      trade.closedAt = new Date().toISOString();
    }
    return this.view(trade);
  }

  /**
   * The payer pays. `force` is the control API's late payer, who pays even a closed or expired
   * trade (as a real channel may, when its close and the payment cross).
   */
  pay(outTradeNo: string, options: { force: boolean }): SandboxTrade {
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
    trade.trade_status = 'TRADE_SUCCESS';
    trade.gmt_payment = new Date().toISOString();
    this.notify(trade);
    return this.view(trade);
  }

  /** Refunds are immediate in the sandbox; a repeated out_request_no answers the same refund. */
  refund(request: SandboxRefundRequest): SandboxRefund {
    const trade = this.tradeOrThrow(request.out_trade_no);
    const existing = trade.refunds.find((r) => r.out_request_no === request.out_request_no);
    if (existing) return { ...existing };
    if (trade.trade_status !== 'TRADE_SUCCESS') {
      throw new GatewayError('TRADE_NOT_PAID', 409, 'only a paid trade can be refunded');
    }
    const refunded = trade.refunds.reduce((sum, r) => sum + r.refund_amount, 0);
    if (refunded + request.refund_amount > trade.total_amount) {
      throw new GatewayError('REFUND_AMOUNT_EXCEEDED', 409, 'refunds would exceed the payment');
    }
    const refund: SandboxRefund = { ...request, refund_status: 'REFUND_SUCCESS' };
    trade.refunds.push(refund);
    return { ...refund };
  }

  queryRefund(outTradeNo: string, outRequestNo: string): SandboxRefund {
    if (this.faults.failQueries)
      throw new GatewayError('SYSTEM_ERROR', 503, 'query failed (fault)');
    const refund = this.tradeOrThrow(outTradeNo).refunds.find(
      (r) => r.out_request_no === outRequestNo,
    );
    if (!refund) throw new GatewayError('REFUND_NOT_EXIST', 404, `no refund ${outRequestNo}`);
    return { ...refund };
  }

  inspect(outTradeNo: string) {
    const trade = this.tradeOrThrow(outTradeNo);
    return {
      ...this.view(trade),
      closed_at: trade.closedAt,
      notifications: trade.notifications,
      refunds: trade.refunds,
    };
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

  returnUrl(outTradeNo: string): string | undefined {
    return this.trades.get(outTradeNo)?.request.return_url;
  }

  stop() {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private tradeOrThrow(outTradeNo: string): Trade {
    const trade = this.trades.get(outTradeNo);
    if (!trade) throw new GatewayError('TRADE_NOT_EXIST', 404, `no trade ${outTradeNo}`);
    return trade;
  }

  private view(trade: Trade): SandboxTrade {
    const {
      request: _r,
      expiresAtMs: _e,
      createdAt: _c,
      closedAt: _d,
      notifications: _n,
      ...wire
    } = trade;
    return { ...wire };
  }

  private notify(trade: Trade) {
    const faults = this.faults;
    const base = {
      out_trade_no: trade.out_trade_no,
      trade_no: trade.trade_no,
      total_amount: trade.total_amount,
      currency: trade.currency,
    };
    const success: SandboxNotification = {
      ...base,
      notify_id: randomUUID(),
      trade_status: 'TRADE_SUCCESS',
      ...(trade.gmt_payment ? { gmt_payment: trade.gmt_payment } : {}),
    };
    if (faults.dropNotifications) {
      trade.notifications.push(this.logEntry(success, 0, 'dropped (fault)'));
      return;
    }
    const delay = faults.delayNotificationsMs ?? 0;
    this.later(delay, () => this.deliver(trade, success, 0));
    if (faults.duplicateNotifications) this.later(delay, () => this.deliver(trade, success, 0));
    if (faults.reorderNotifications) {
      const stale: SandboxNotification = {
        ...base,
        notify_id: randomUUID(),
        trade_status: 'WAIT_BUYER_PAY',
      };
      this.later(delay + 50, () => this.deliver(trade, stale, 0));
    }
  }

  private async deliver(trade: Trade, notification: SandboxNotification, attempt: number) {
    const body = JSON.stringify(notification);
    let outcome: string;
    try {
      const response = await fetch(trade.request.notify_url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...signedHeaders(this.options.appId, this.options.secret, body, Date.now()),
        },
        body,
        signal: AbortSignal.timeout(10_000),
      });
      const answer = (await response.text()).trim();
      if (response.ok && answer === 'success') {
        trade.notifications.push(this.logEntry(notification, attempt, 'acknowledged'));
        return;
      }
      outcome = `HTTP ${response.status} ${answer.slice(0, 200)}`;
    } catch (err) {
      outcome = `error: ${(err as Error).message}`;
    }
    trade.notifications.push(this.logEntry(notification, attempt, outcome));
    const delay = this.options.notifyRetrySeconds[attempt];
    if (delay === undefined) {
      this.options.log.warn({ outTradeNo: trade.out_trade_no }, 'sandbox gave up notifying');
      return;
    }
    this.later(delay * 1000, () => this.deliver(trade, notification, attempt + 1));
  }

  private logEntry(n: SandboxNotification, attempt: number, outcome: string): NotificationLogEntry {
    return {
      notifyId: n.notify_id,
      tradeStatus: n.trade_status,
      attempt,
      at: new Date().toISOString(),
      outcome,
    };
  }

  private later(ms: number, task: () => Promise<void>) {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      task().catch((err) => this.options.log.error({ err }, 'sandbox task failed'));
    }, ms);
    this.timers.add(timer);
  }
}
