// The `bankcard` channel's face: UnionPay ACP 5.1-like back-end transactions (form-encoded, signed
// with RSA certificates), driving the shared trade engine. The card is charged during the consume
// request; a control route chooses what the next card does.
import { deflateSync } from 'node:zlib';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { z } from 'zod';
import {
  acpEncoding,
  acpVersion,
  bankcardPaths,
  cnyCode,
  decodeForm,
  encodeForm,
  formatAcpTime,
  formatStatementLine,
  insufficientBalance,
  parseAcpTime,
  quickPayBizType,
  respMessages,
  signFields,
  txnTypes,
  verifyFields,
  type AcpFields,
} from '../../src/channels/bankcard/protocol';
import { GatewayError, type TradeEngine } from '../engine';
import { Journal } from '../journal';
import type { ChannelFace } from '../server';
import { statementDayBounds, type ChannelTrade, type TradeStatus } from '../trades';

export interface BankcardFaceOptions {
  merId: string;
  /** Our signing certificate's public key and id: the simulator verifies our requests with it. */
  merchantPublicKey: string;
  merchantCertId: string;
  /** The platform's key and certificate id: the simulator signs answers and notifications. */
  platformPrivateKey: string;
  platformCertId: string;
  retrySeconds: number[];
  publicUrl: string;
  /** Where the face keeps its orders and refunds (the gateway's journal); in memory when absent. */
  journal?: Journal;
}

/**
 * What the next card does: success (charged at once, 00), declined (respCode, default 64), accepted
 * (05) or unknown (04) that settle to success after settleAfterMs, or timeout: the answer comes
 * after settleAfterMs (later than any adapter waits) and the card is charged then.
 */
const nextCardSchema = z
  .object({
    outcome: z.enum(['success', 'declined', 'accepted', 'unknown', 'timeout']),
    settleAfterMs: z.number().int().min(0).max(600_000).optional(),
    respCode: z
      .string()
      .regex(/^(01|30|33|38|6\d|7[0-3])$/)
      .optional(),
  })
  .strict();
type NextCard = z.infer<typeof nextCardSchema>;

const defaultSettleMs = { accepted: 200, unknown: 200, timeout: 15_000 } as const;

interface OrderMeta {
  txnTime: string;
  queryId: string;
  /** The respCode of a declined consume, answered as origRespCode by queries. */
  declineCode?: string;
  /** When an accepted (05) or unknown (04) consume charges the card. */
  settleAtMs?: number;
}

interface RefundMeta {
  /** The consume's orderId (the engine's out_trade_no). */
  origOrderId: string;
  queryId: string;
  txnTime: string;
}

class AcpRefusal extends Error {
  constructor(
    readonly respCode: string,
    message?: string,
  ) {
    super(message ?? respMessages[respCode] ?? respCode);
  }
}

/** Engine refusals in ACP's words. */
function respCodeOf(err: GatewayError): string {
  switch (err.code) {
    case 'INVALID_SIGNATURE':
      return '11';
    case 'INVALID_REQUEST':
      return '10';
    case 'OUT_TRADE_NO_USED':
      return '12';
    case 'TRADE_NOT_EXIST':
    case 'REFUND_NOT_EXIST':
      return '34';
    case 'TRADE_HAS_SUCCESS':
    case 'TRADE_HAS_CLOSE':
    case 'TRADE_NOT_PAID':
      return '35';
    case 'REFUND_AMOUNT_EXCEEDED':
      return '36';
    case 'FREQUENCY_LIMITED':
    case 'SYSTEM_ERROR':
      return '06';
  }
}

export function bankcardFace(options: BankcardFaceOptions): ChannelFace {
  const journal = options.journal ?? Journal.inMemory();
  const orders = journal.table<OrderMeta>('bankcard.orders');
  const refunds = journal.table<RefundMeta>('bankcard.refunds');
  const byQueryId = new Map(
    [...orders.entries()].map(([orderId, meta]) => [meta.queryId, orderId]),
  );
  const timers = new Set<NodeJS.Timeout>();
  const wakers = new Set<() => void>();
  let stopped = false;
  let nextCard: NextCard | undefined;
  // Query ids go on from the last one kept (a restart within the same second must not repeat one).
  let seq = [...orders.values(), ...refunds.values()].reduce(
    (last, meta) => Math.max(last, Number(meta.queryId.slice(-7))),
    0,
  );

  function newQueryId(now: Date): string {
    seq = (seq + 1) % 10_000_000;
    return `${formatAcpTime(now)}${String(seq).padStart(7, '0')}`; // 21 digits, as ACP's
  }

  function sign(fields: AcpFields): AcpFields {
    return signFields(fields, options.platformPrivateKey, options.platformCertId);
  }

  function later(ms: number, task: () => void) {
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!stopped) task();
    }, ms);
    timers.add(timer);
  }

  function pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      wakers.add(wake);
    });
  }

  /** The payer's card is charged: the engine pays the trade and sends the notification. */
  function charge(gateway: TradeEngine, orderId: string): ChannelTrade | undefined {
    try {
      return gateway.pay(orderId, { force: false });
    } catch (err) {
      if (err instanceof GatewayError) return undefined; // cancelled or expired meanwhile
      throw err;
    }
  }

  /** An accepted consume charges the card at `settleAtMs`, also after a restart. */
  function settleLater(gateway: TradeEngine, orderId: string, settleAtMs: number) {
    later(Math.max(0, settleAtMs - Date.now()), () =>
      journal.atomically(() => {
        charge(gateway, orderId);
        const { settleAtMs: _settled, ...meta } = orders.get(orderId)!;
        orders.set(orderId, meta);
      }),
    );
  }

  /** A request from the known merchant, signed with its certificate; else respCode 11. */
  function verified(raw: unknown): AcpFields {
    const fields = typeof raw === 'string' ? decodeForm(raw) : undefined;
    if (!fields) throw new AcpRefusal('10');
    if (!verifyFields(fields, options.merchantPublicKey, options.merchantCertId)) {
      throw new AcpRefusal('11');
    }
    if (fields.merId !== options.merId) throw new AcpRefusal('31', '商户状态不正确');
    if (fields.version !== acpVersion) throw new AcpRefusal('10', 'version');
    return fields;
  }

  function required(fields: AcpFields, name: string, pattern: RegExp): string {
    const value = fields[name];
    if (value === undefined || value === '') throw new AcpRefusal('13', `${name} is missing`);
    if (!pattern.test(value)) throw new AcpRefusal('10', `${name} is malformed`);
    return value;
  }

  const orderIdPattern = /^[0-9A-Za-z]{8,40}$/;
  const amountPattern = /^[1-9]\d{0,11}$/;
  const timePattern = /^\d{14}$/;

  function statusCode(status: TradeStatus, meta: OrderMeta | undefined): string {
    switch (status) {
      case 'TRADE_SUCCESS':
        return '00';
      case 'WAIT_BUYER_PAY':
        return '05';
      case 'TRADE_CLOSED':
        return meta?.declineCode ?? '01';
    }
  }

  function settleFields(trade: ChannelTrade): AcpFields {
    if (trade.trade_status !== 'TRADE_SUCCESS' || !trade.gmt_payment) return {};
    const paidAt = formatAcpTime(new Date(trade.gmt_payment));
    return {
      traceNo: trade.trade_no.slice(-6),
      traceTime: paidAt.slice(4),
      settleDate: paidAt.slice(4, 8),
      settleAmt: String(trade.total_amount),
      settleCurrencyCode: cnyCode,
    };
  }

  async function consume(gateway: TradeEngine, req: AcpFields): Promise<AcpFields> {
    const orderId = required(req, 'orderId', orderIdPattern);
    const txnTime = required(req, 'txnTime', timePattern);
    const txnAmt = required(req, 'txnAmt', amountPattern);
    required(req, 'currencyCode', /^156$/);
    required(req, 'txnSubType', /^01$/);
    const backUrl = required(req, 'backUrl', /^https?:\/\/\S+$/);
    const payTimeout = required(req, 'payTimeout', timePattern);
    let expires: Date;
    try {
      expires = parseAcpTime(payTimeout);
    } catch {
      throw new AcpRefusal('10', 'payTimeout');
    }
    if (orders.has(orderId)) throw new AcpRefusal('12');
    const now = new Date();
    const meta: OrderMeta = { txnTime, queryId: newQueryId(now) };
    journal.atomically(() => {
      gateway.createTrade('bankcard', {
        out_trade_no: orderId,
        total_amount: Number(txnAmt),
        currency: 'CNY',
        subject: req.orderDesc || orderId,
        method: 'quick',
        time_expire: expires.toISOString(),
        notify_url: backUrl,
      });
      orders.set(orderId, meta);
    });
    byQueryId.set(meta.queryId, orderId);

    const card = nextCard ?? { outcome: 'success' };
    nextCard = undefined;
    const base = { orderId, txnTime, txnAmt, currencyCode: cnyCode, queryId: meta.queryId };
    switch (card.outcome) {
      case 'success': {
        const trade = charge(gateway, orderId);
        if (!trade) throw new AcpRefusal('39', '交易不在受理时间范围内');
        return { ...base, ...settleFields(trade), respCode: '00' };
      }
      case 'declined': {
        const respCode = card.respCode ?? insufficientBalance.code;
        journal.atomically(() => {
          gateway.closeTrade(orderId);
          orders.set(orderId, { ...meta, declineCode: respCode });
        });
        return { ...base, respCode };
      }
      case 'accepted':
      case 'unknown': {
        const settleAtMs = now.getTime() + (card.settleAfterMs ?? defaultSettleMs[card.outcome]);
        orders.set(orderId, { ...meta, settleAtMs });
        settleLater(gateway, orderId, settleAtMs);
        return { ...base, respCode: card.outcome === 'accepted' ? '05' : '04' };
      }
      case 'timeout': {
        await pause(card.settleAfterMs ?? defaultSettleMs.timeout);
        if (stopped) throw new AcpRefusal('03');
        const trade = charge(gateway, orderId);
        return trade
          ? { ...base, ...settleFields(trade), respCode: '00' }
          : { ...base, respCode: '03' };
      }
    }
  }

  async function query(gateway: TradeEngine, req: AcpFields): Promise<AcpFields> {
    const orderId = required(req, 'orderId', orderIdPattern);
    const refund = refunds.get(orderId);
    if (refund) {
      const answer = await gateway.queryRefund(refund.origOrderId, orderId);
      const origRespCode =
        answer.refund_status === 'REFUND_SUCCESS'
          ? '00'
          : answer.refund_status === 'REFUND_PROCESSING'
            ? '05'
            : '01';
      return {
        orderId,
        txnTime: refund.txnTime,
        txnAmt: String(answer.refund_amount),
        currencyCode: cnyCode,
        queryId: refund.queryId,
        respCode: '00',
        origRespCode,
        origRespMsg: respMessages[origRespCode] ?? '',
      };
    }
    const meta = orders.get(orderId);
    if (!meta) throw new AcpRefusal('34');
    const trade = await gateway.queryTrade(orderId);
    const origRespCode = statusCode(trade.trade_status, meta);
    return {
      orderId,
      txnTime: meta.txnTime,
      txnAmt: String(trade.total_amount),
      currencyCode: cnyCode,
      queryId: meta.queryId,
      ...settleFields(trade),
      respCode: '00',
      origRespCode,
      origRespMsg: respMessages[origRespCode] ?? '',
    };
  }

  /** txnType 31 before the charge: the trade is cancelled; a charged one answers 35. */
  function cancel(gateway: TradeEngine, req: AcpFields): AcpFields {
    const orderId = required(req, 'orderId', orderIdPattern);
    const origQryId = required(req, 'origQryId', /^\d{21}$/);
    const origOrderId = byQueryId.get(origQryId);
    if (!origOrderId) throw new AcpRefusal('35');
    const trade = gateway.closeTrade(origOrderId); // TRADE_HAS_SUCCESS -> 35
    if (trade.trade_status !== 'TRADE_CLOSED') throw new AcpRefusal('35');
    return { orderId, txnTime: req.txnTime ?? '', origQryId, respCode: '00' };
  }

  function refund(gateway: TradeEngine, req: AcpFields): AcpFields {
    const orderId = required(req, 'orderId', orderIdPattern);
    const txnTime = required(req, 'txnTime', timePattern);
    const txnAmt = required(req, 'txnAmt', amountPattern);
    const origQryId = required(req, 'origQryId', /^\d{21}$/);
    const origOrderId = byQueryId.get(origQryId);
    if (!origOrderId) throw new AcpRefusal('35');
    const known = refunds.get(orderId);
    if (known && known.origOrderId !== origOrderId) throw new AcpRefusal('12');
    const meta = known ?? { origOrderId, queryId: newQueryId(new Date()), txnTime };
    journal.atomically(() => {
      gateway.refund({
        out_trade_no: origOrderId,
        out_request_no: orderId,
        refund_amount: Number(txnAmt),
      });
      if (!known) refunds.set(orderId, meta);
    });
    return { orderId, txnTime, txnAmt, origQryId, queryId: meta.queryId, respCode: '00' };
  }

  function statementFile(gateway: TradeEngine, req: AcpFields): AcpFields {
    const settleDate = required(req, 'settleDate', /^\d{4}$/);
    // settleDate is MMDD: the latest such day that is not in the future (Beijing time).
    const today = formatAcpTime(new Date()).slice(0, 8);
    let year = Number(today.slice(0, 4));
    if (`${year}${settleDate}` > today) year -= 1;
    const day = `${year}-${settleDate.slice(0, 2)}-${settleDate.slice(2)}`;
    if (Number.isNaN(statementDayBounds(day).from.getTime()))
      throw new AcpRefusal('10', 'settleDate');
    const lines = gateway.statement('bankcard', day).map((e) => {
      const consumeQueryId = orders.get(e.outTradeNo)?.queryId ?? '';
      const at = formatAcpTime(new Date(e.at));
      if (e.kind === 'PAYMENT') {
        return formatStatementLine({
          txnType: txnTypes.consume,
          orderId: e.outTradeNo,
          queryId: consumeQueryId,
          origOrderId: '',
          origQryId: '',
          txnAmt: String(e.amount),
          currencyCode: cnyCode,
          txnTime: at,
        });
      }
      return formatStatementLine({
        txnType: txnTypes.refund,
        orderId: e.refundNo ?? '',
        queryId: refunds.get(e.refundNo ?? '')?.queryId ?? '',
        origOrderId: e.outTradeNo,
        origQryId: consumeQueryId,
        txnAmt: String(e.amount),
        currencyCode: cnyCode,
        txnTime: at,
      });
    });
    const file = lines.map((line) => `${line}\r\n`).join('');
    return {
      settleDate,
      fileType: '00',
      fileName: `INN${settleDate.slice(2)}${year % 100}88ZM_${options.merId}`,
      fileContent: deflateSync(Buffer.from(file, 'utf8')).toString('base64'),
      respCode: '00',
    };
  }

  const routes: FastifyPluginAsync<{ gateway: TradeEngine }> = async (app, { gateway }) => {
    // Signatures cover the values as sent: keep form bodies as text in this scope.
    app.removeContentTypeParser('application/x-www-form-urlencoded');
    app.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string' },
      (_req, body, done) => done(null, body),
    );
    for (const [orderId, meta] of orders.entries()) {
      if (meta.settleAtMs !== undefined) settleLater(gateway, orderId, meta.settleAtMs);
    }
    app.addHook('preClose', async () => {
      stopped = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      for (const wake of wakers) wake();
    });

    /** Every answer is a signed form, refusals included; engine outages answer HTTP 503. */
    async function answer(
      raw: unknown,
      handle: (req: AcpFields) => AcpFields | Promise<AcpFields>,
    ): Promise<{ status: number; body: string }> {
      let req: AcpFields | undefined;
      let fields: AcpFields;
      try {
        req = verified(raw);
        fields = await handle(req);
      } catch (err) {
        let respCode: string;
        if (err instanceof AcpRefusal) respCode = err.respCode;
        else if (err instanceof GatewayError) {
          if (err.httpStatus >= 500) return { status: 503, body: 'system busy' };
          respCode = respCodeOf(err);
        } else throw err;
        fields = {
          ...(req?.orderId ? { orderId: req.orderId } : {}),
          ...(req?.txnTime ? { txnTime: req.txnTime } : {}),
          respCode,
          respMsg: err.message,
        };
      }
      const envelope: AcpFields = {
        version: acpVersion,
        encoding: acpEncoding,
        bizType: req?.bizType ?? '000000',
        txnType: req?.txnType ?? '',
        txnSubType: req?.txnSubType ?? '',
        accessType: '0',
        merId: options.merId,
      };
      const respCode = fields.respCode!;
      return {
        status: 200,
        body: encodeForm(
          sign({
            ...envelope,
            respMsg: respMessages[respCode] ?? respCode,
            ...fields,
          }),
        ),
      };
    }

    const send = (reply: FastifyReply) => (result: { status: number; body: string }) =>
      reply
        .status(result.status)
        .type(`application/x-www-form-urlencoded;charset=${acpEncoding}`)
        .send(result.body);

    app.post(`/bankcard${bankcardPaths.back}`, async (req, reply) =>
      send(reply)(
        await answer(req.body, (fields) => {
          switch (fields.txnType) {
            case txnTypes.consume:
              return consume(gateway, fields);
            case txnTypes.refund:
              return refund(gateway, fields);
            case txnTypes.cancel:
              return cancel(gateway, fields);
            default:
              throw new AcpRefusal('10', `txnType ${fields.txnType} is not a back transaction`);
          }
        }),
      ),
    );
    app.post(`/bankcard${bankcardPaths.query}`, async (req, reply) =>
      send(reply)(
        await answer(req.body, (fields) => {
          if (fields.txnType !== txnTypes.query) throw new AcpRefusal('10', 'txnType');
          return query(gateway, fields);
        }),
      ),
    );
    app.post(`/bankcard${bankcardPaths.file}`, async (req, reply) =>
      send(reply)(
        await answer(req.body, (fields) => {
          if (fields.txnType !== txnTypes.file) throw new AcpRefusal('10', 'txnType');
          return statementFile(gateway, fields);
        }),
      ),
    );

    app.get('/bankcard/control/next-card', async () => nextCard ?? { outcome: 'success' });
    app.post('/bankcard/control/next-card', async (req) => {
      const text = typeof req.body === 'string' ? req.body.trim() : '';
      nextCard = nextCardSchema.parse(text === '' ? {} : JSON.parse(text));
      return nextCard;
    });
    app.delete('/bankcard/control/next-card', async () => {
      nextCard = undefined;
      return { outcome: 'success' };
    });
  };

  return {
    channel: 'bankcard',
    routes,
    retrySeconds: options.retrySeconds,
    encodeNotification(trade, notification) {
      const meta = orders.get(trade.out_trade_no);
      const respCode = statusCode(notification.trade_status, meta);
      const fields = sign({
        version: acpVersion,
        encoding: acpEncoding,
        bizType: quickPayBizType,
        txnType: txnTypes.consume,
        txnSubType: '01',
        accessType: '0',
        merId: options.merId,
        orderId: trade.out_trade_no,
        txnTime: meta?.txnTime ?? formatAcpTime(new Date()),
        txnAmt: String(notification.total_amount),
        currencyCode: cnyCode,
        queryId: meta?.queryId ?? '',
        ...settleFields(trade),
        respCode,
        respMsg: respMessages[respCode] ?? respCode,
      });
      return {
        body: encodeForm(fields),
        headers: { 'content-type': `application/x-www-form-urlencoded;charset=${acpEncoding}` },
      };
    },
    // ACP retries until the backUrl answers HTTP 200.
    isAcknowledged: (status) => status === 200,
  };
}
