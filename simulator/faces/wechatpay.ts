// The WeChat Pay API v3 face of the simulator: Native prepay, query, close, refund, refund query and
// the trade bill, over the shared trade engine. It verifies our requests' Authorization with the
// merchant's public key, signs every answer and notification with the platform's private key, and
// seals notifications' resources with the APIv3 key, as WeChat Pay does.
import { createHash, createPublicKey, randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { formatChinaDateTime, formatChinaRfc3339 } from '../../src/channels/chinaTime';
import { generateKeyPair } from '../../src/channels/keys';
import {
  certificateAssociatedData,
  certificatesPath,
  checkAuthorization,
  encryptResource,
  nonce,
  signedHeaders,
  toBillYuan,
  tradeBillColumns,
  tradeBillSummaryColumns,
  type CertificatesAnswer,
  type WechatpayNotification,
  type WechatpayRefund,
  type WechatpayRefundStatus,
  type WechatpayTradeState,
  type WechatpayTransaction,
} from '../../src/channels/wechatpay/protocol';
import { GatewayError, type RefundEntry, type TradeEngine } from '../engine';
import type { ChannelFace } from '../server';
import type { ChannelTrade, RefundStatus } from '../trades';

export interface WechatpayFaceOptions {
  mchId: string;
  appId: string;
  /** The merchant's public key and serial: the simulator verifies our requests with it. */
  mchPublicKey: string;
  mchSerialNo: string;
  apiV3Key: string;
  /** The platform's private key and serial: the simulator signs answers and notifications. */
  platformPrivateKey: string;
  platformSerialNo: string;
  retrySeconds: number[];
  publicUrl: string;
}

/** A WeChat Pay error answer: `{ code, message }` with its HTTP status. */
class WechatpayError extends Error {
  constructor(
    readonly httpStatus: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const outTradeNo = z.string().regex(/^[A-Za-z0-9_\-|*]{6,32}$/);
const nativeSchema = z.object({
  appid: z.string().min(1),
  mchid: z.string().min(1),
  description: z.string().min(1).max(127),
  out_trade_no: outTradeNo,
  time_expire: z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:\d{2}|Z)$/),
  attach: z.string().optional(),
  notify_url: z.url(),
  amount: z.object({ total: z.number().int().positive(), currency: z.literal('CNY').optional() }),
});
const jsapiSchema = nativeSchema.extend({
  payer: z.object({ openid: z.string().min(1).max(128) }),
});
const closeSchema = z.object({ mchid: z.string().min(1) });
const refundSchema = z.object({
  out_trade_no: z.string().min(1),
  out_refund_no: z.string().regex(/^[A-Za-z0-9_\-|*@]{1,64}$/),
  reason: z.string().max(80).optional(),
  notify_url: z.url().optional(),
  funds_account: z.string().optional(),
  amount: z.object({
    refund: z.number().int().positive(),
    total: z.number().int().positive(),
    currency: z.literal('CNY'),
  }),
});
const billQuerySchema = z.object({
  bill_date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  bill_type: z.enum(['ALL', 'SUCCESS', 'REFUND']).optional().default('ALL'),
  tar_type: z.literal('GZIP').optional(),
});

/** The engine's refusals in WeChat Pay's words. */
function wechatpayError(err: GatewayError, op: 'trade' | 'refund'): WechatpayError {
  switch (err.code) {
    case 'INVALID_SIGNATURE':
      return new WechatpayError(401, 'SIGN_ERROR', '签名错误');
    case 'INVALID_REQUEST':
      return new WechatpayError(400, 'PARAM_ERROR', err.message);
    case 'TRADE_NOT_EXIST':
      return op === 'refund'
        ? new WechatpayError(404, 'RESOURCE_NOT_EXISTS', '订单不存在')
        : new WechatpayError(404, 'ORDER_NOT_EXIST', '订单不存在');
    case 'OUT_TRADE_NO_USED':
      return new WechatpayError(403, 'OUT_TRADE_NO_USED', '商户订单号重复');
    case 'TRADE_HAS_SUCCESS':
      return new WechatpayError(400, 'ORDERPAID', '订单已支付');
    case 'TRADE_HAS_CLOSE':
      return new WechatpayError(400, 'ORDER_CLOSED', '订单已关闭');
    case 'TRADE_NOT_PAID':
      return new WechatpayError(400, 'INVALID_REQUEST', '订单未支付，不能退款');
    case 'REFUND_AMOUNT_EXCEEDED':
      return new WechatpayError(400, 'INVALID_REQUEST', '申请退款金额超过订单可退金额');
    case 'REFUND_NOT_EXIST':
      return new WechatpayError(404, 'RESOURCE_NOT_EXISTS', '退款单不存在');
    case 'FREQUENCY_LIMITED':
      return new WechatpayError(429, 'FREQUENCY_LIMITED', '频率超限');
    case 'SYSTEM_ERROR':
      return new WechatpayError(500, 'SYSTEM_ERROR', '系统错误');
  }
}

function tradeState(trade: ChannelTrade, refunds: unknown[]): WechatpayTradeState {
  switch (trade.trade_status) {
    case 'WAIT_BUYER_PAY':
      return 'NOTPAY';
    case 'TRADE_SUCCESS':
      return refunds.length > 0 ? 'REFUND' : 'SUCCESS';
    case 'TRADE_CLOSED':
      return 'CLOSED';
  }
}

function refundStatus(status: RefundStatus): WechatpayRefundStatus {
  switch (status) {
    case 'REFUND_PROCESSING':
      return 'PROCESSING';
    case 'REFUND_SUCCESS':
      return 'SUCCESS';
    case 'REFUND_CLOSED':
      return 'CLOSED';
  }
}

const stateDescriptions: Record<WechatpayTradeState, string> = {
  SUCCESS: '支付成功',
  REFUND: '转入退款',
  NOTPAY: '未支付',
  CLOSED: '已关闭',
  REVOKED: '已撤销',
  USERPAYING: '用户支付中',
  PAYERROR: '支付失败',
};

/** A stable numeric id derived from a text: WeChat Pay's refund_id is 50... digits. */
function refundId(outRefundNo: string): string {
  const hex = createHash('sha256').update(outRefundNo).digest('hex').slice(0, 24);
  return `50${BigInt(`0x${hex}`).toString().padStart(27, '0').slice(0, 27)}`;
}

function rfc3339(iso: string | undefined): string | undefined {
  return iso ? formatChinaRfc3339(new Date(iso)) : undefined;
}

/** Bill cells are "`value": a backtick inside a value would break the ",`" split, so drop it. */
const cell = (value: string | number) => `\`${String(value).replace(/[`\r\n]/g, '')}`;
const feeOf = (fen: number) => Math.round((fen * 6) / 1000); // 0.60%

/** A platform certificate of the simulator: its key pair, and when it came into force. */
interface PlatformKey {
  serialNo: string;
  privateKey: string;
  publicKey: string;
  effectiveAt: Date;
}

/** Platform certificates are valid five years, as WeChat Pay's are. */
const certificateLifetimeMs = 5 * 365 * 24 * 3600 * 1000;

export function wechatpayFace(options: WechatpayFaceOptions): ChannelFace {
  /**
   * The platform certificates in force, newest last: answers and notifications are signed with
   * the newest; the download API lists all of them, so a rotation overlaps the old and the new.
   */
  const platformKeys: PlatformKey[] = [
    {
      serialNo: options.platformSerialNo,
      privateKey: options.platformPrivateKey,
      publicKey: createPublicKey(options.platformPrivateKey)
        .export({ type: 'spki', format: 'pem' })
        .toString(),
      effectiveAt: new Date(),
    },
  ];
  const signing = () => platformKeys[platformKeys.length - 1]!;
  /** Answers of the certificate download API so far: a test counts our refreshes with it. */
  let certificateDownloads = 0;
  const platformSigned = (body: string) =>
    signedHeaders(body, signing().privateKey, signing().serialNo, Date.now());
  const openid = `o${createHash('sha256').update(options.appId).digest('base64url').slice(0, 27)}`;
  /** Download tokens of trade bills: token -> the bill's bytes, valid five minutes. */
  const downloads = new Map<string, { gzip: Buffer; expiresAtMs: number }>();

  function transaction(
    trade: ChannelTrade,
    refunds: unknown[],
    state?: WechatpayTradeState,
  ): WechatpayTransaction {
    const tradeState_ = state ?? tradeState(trade, refunds);
    const paid = tradeState_ === 'SUCCESS' || tradeState_ === 'REFUND';
    return {
      appid: options.appId,
      mchid: options.mchId,
      out_trade_no: trade.out_trade_no,
      ...(paid ? { transaction_id: trade.trade_no } : {}),
      trade_type: 'NATIVE',
      trade_state: tradeState_,
      trade_state_desc: stateDescriptions[tradeState_],
      ...(paid
        ? {
            bank_type: 'OTHERS',
            attach: '',
            success_time: rfc3339(trade.gmt_payment)!,
            payer: { openid },
          }
        : {}),
      amount: {
        total: trade.total_amount,
        ...(paid ? { payer_total: trade.total_amount, payer_currency: 'CNY' } : {}),
        currency: 'CNY',
      },
    };
  }

  function refundView(trade: ChannelTrade, refund: RefundEntry): WechatpayRefund {
    const status = refundStatus(refund.refund_status);
    return {
      refund_id: refundId(refund.out_request_no),
      out_refund_no: refund.out_request_no,
      transaction_id: trade.trade_no,
      out_trade_no: trade.out_trade_no,
      channel: 'ORIGINAL',
      user_received_account: '支付用户零钱',
      ...(status === 'SUCCESS' ? { success_time: rfc3339(refund.at)! } : {}),
      create_time: rfc3339(refund.at)!,
      status,
      funds_account: 'UNSETTLED',
      amount: {
        total: trade.total_amount,
        refund: refund.refund_amount,
        payer_total: trade.total_amount,
        payer_refund: refund.refund_amount,
        settlement_refund: refund.refund_amount,
        settlement_total: trade.total_amount,
        discount_refund: 0,
        currency: 'CNY',
      },
    };
  }

  /** The request's body as text, refused with 401 SIGN_ERROR unless our merchant signed it. */
  function verified(req: FastifyRequest): string {
    const body = typeof req.body === 'string' ? req.body : '';
    const problem = checkAuthorization({
      header: req.headers.authorization,
      mchId: options.mchId,
      serialNo: options.mchSerialNo,
      publicKey: options.mchPublicKey,
      method: req.method,
      pathWithQuery: req.url,
      body,
      nowMs: Date.now(),
    });
    if (problem) throw new WechatpayError(401, 'SIGN_ERROR', `签名错误: ${problem}`);
    return body;
  }

  function json<T>(schema: z.ZodType<T>, body: string): T {
    let value: unknown;
    try {
      value = JSON.parse(body);
    } catch {
      throw new WechatpayError(400, 'PARAM_ERROR', 'body is not JSON');
    }
    const parsed = schema.safeParse(value);
    if (!parsed.success)
      throw new WechatpayError(400, 'PARAM_ERROR', z.prettifyError(parsed.error));
    return parsed.data;
  }

  function mchidMatches(mchid: string | undefined) {
    if (mchid !== options.mchId) throw new WechatpayError(400, 'MCH_NOT_EXISTS', '商户号不存在');
  }

  /** Runs an engine call, turning its refusals into WeChat Pay's. */
  async function engine<T>(op: 'trade' | 'refund', run: () => T | Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      if (err instanceof GatewayError) throw wechatpayError(err, op);
      throw err;
    }
  }

  function tradeBill(gateway: TradeEngine, billDate: string, billType: string): string {
    const entries = gateway
      .statement('wechatpay', billDate)
      .filter((e) => billType === 'ALL' || (billType === 'SUCCESS') === (e.kind === 'PAYMENT'));
    if (entries.length === 0) {
      throw new WechatpayError(400, 'NO_STATEMENT_EXIST', '账单文件不存在');
    }
    let settled = 0;
    let refunded = 0;
    let fees = 0;
    let ordered = 0;
    const rows = entries.map((e) => {
      const payment = e.kind === 'PAYMENT';
      const total = gateway.inspect(e.outTradeNo).total_amount;
      const fee = payment ? feeOf(e.amount) : -feeOf(e.amount);
      fees += fee;
      if (payment) {
        settled += e.amount;
        ordered += e.amount;
      } else {
        refunded += e.amount;
      }
      const values: Record<(typeof tradeBillColumns)[number], string | number> = {
        交易时间: formatChinaDateTime(new Date(e.at)),
        公众账号ID: options.appId,
        商户号: options.mchId,
        特约商户号: '0',
        设备号: '',
        微信订单号: e.tradeNo,
        商户订单号: e.outTradeNo,
        用户标识: openid,
        交易类型: 'NATIVE',
        交易状态: payment ? 'SUCCESS' : 'REFUND',
        付款银行: 'OTHERS',
        货币种类: e.currency,
        应结订单金额: toBillYuan(payment ? e.amount : total),
        代金券金额: '0.00',
        微信退款单号: payment ? '0' : refundId(e.refundNo!),
        商户退款单号: payment ? '0' : e.refundNo!,
        退款金额: toBillYuan(payment ? 0 : e.amount),
        充值券退款金额: '0.00',
        退款类型: payment ? '' : 'ORIGINAL',
        退款状态: payment ? '' : 'SUCCESS',
        商品名称: e.subject,
        商户数据包: '',
        手续费: toBillYuan(fee),
        费率: '0.60%',
        订单金额: toBillYuan(payment ? e.amount : total),
        申请退款金额: toBillYuan(payment ? 0 : e.amount),
        费率备注: '',
      };
      return tradeBillColumns.map((c) => cell(values[c])).join(',');
    });
    const summary = [
      rows.length,
      toBillYuan(settled),
      toBillYuan(refunded),
      '0.00',
      toBillYuan(fees),
    ];
    summary.push(toBillYuan(ordered), toBillYuan(refunded));
    return (
      '\uFEFF' +
      [
        tradeBillColumns.join(','),
        ...rows,
        tradeBillSummaryColumns.join(','),
        summary.map(cell).join(','),
      ].join('\r\n') +
      '\r\n'
    );
  }

  const api: FastifyPluginAsync<{ gateway: TradeEngine }> = async (app, { gateway }) => {
    // Signatures cover the exact bytes: keep every body as text.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));

    // Every answer is signed by the platform, errors included; bill downloads are not (as at
    // WeChat Pay: their integrity is the signed hash_value).
    app.addHook('onSend', async (req, reply, payload) => {
      if (req.url.startsWith('/wechatpay/v3/billdownload/')) return payload;
      const body = typeof payload === 'string' ? payload : payload == null ? '' : undefined;
      if (body === undefined) return payload;
      for (const [name, value] of Object.entries(platformSigned(body))) {
        reply.header(name, value);
      }
      reply.header('Request-ID', randomBytes(16).toString('hex'));
      return payload;
    });

    app.setErrorHandler((err, _req, reply: FastifyReply) => {
      if (err instanceof WechatpayError) {
        return reply.status(err.httpStatus).send({ code: err.code, message: err.message });
      }
      if (err instanceof GatewayError) {
        const mapped = wechatpayError(err, 'trade');
        return reply.status(mapped.httpStatus).send({ code: mapped.code, message: mapped.message });
      }
      const status = (err as { statusCode?: number }).statusCode ?? 500;
      return reply.status(status).send({
        code: status >= 500 ? 'SYSTEM_ERROR' : 'INVALID_REQUEST',
        message: err instanceof Error ? err.message : String(err),
      });
    });

    /** A prepay of either kind creates the same trade; only the answer differs. */
    async function prepay(request: z.infer<typeof nativeSchema>, method: 'native' | 'jsapi') {
      mchidMatches(request.mchid);
      if (request.appid !== options.appId) {
        throw new WechatpayError(400, 'APPID_MCHID_NOT_MATCH', 'appid和mch_id不匹配');
      }
      return engine('trade', () =>
        gateway.createTrade('wechatpay', {
          out_trade_no: request.out_trade_no,
          total_amount: request.amount.total,
          currency: 'CNY',
          subject: request.description,
          method,
          time_expire: request.time_expire,
          notify_url: request.notify_url,
        }),
      );
    }

    app.post('/v3/pay/transactions/native', async (req) => {
      const trade = await prepay(json(nativeSchema, verified(req)), 'native');
      // The simulator's code_url is its pay page, so that a payer can open (or scan) it and pay.
      return { code_url: trade.pay_url };
    });

    // JSAPI: the same trade, to be paid inside WeChat by the named user (the control API's payer).
    app.post('/v3/pay/transactions/jsapi', async (req) => {
      const trade = await prepay(json(jsapiSchema, verified(req)), 'jsapi');
      return { prepay_id: `wx${trade.trade_no}` };
    });

    app.get<{ Params: { outTradeNo: string }; Querystring: { mchid?: string } }>(
      '/v3/pay/transactions/out-trade-no/:outTradeNo',
      async (req) => {
        verified(req);
        mchidMatches(req.query.mchid);
        ours(gateway, req.params.outTradeNo);
        const trade = await engine('trade', () => gateway.queryTrade(req.params.outTradeNo));
        return transaction(trade, gateway.inspect(trade.out_trade_no).refunds);
      },
    );

    app.post<{ Params: { outTradeNo: string } }>(
      '/v3/pay/transactions/out-trade-no/:outTradeNo/close',
      async (req, reply) => {
        mchidMatches(json(closeSchema, verified(req)).mchid);
        ours(gateway, req.params.outTradeNo);
        await engine('trade', () => gateway.closeTrade(req.params.outTradeNo));
        return reply.status(204).send();
      },
    );

    app.post('/v3/refund/domestic/refunds', async (req) => {
      const request = json(refundSchema, verified(req));
      const trade = await engine('refund', () => gateway.inspect(request.out_trade_no));
      if (trade.channel !== 'wechatpay') {
        throw new WechatpayError(404, 'RESOURCE_NOT_EXISTS', '订单不存在');
      }
      if (request.amount.total !== trade.total_amount) {
        throw new WechatpayError(400, 'INVALID_REQUEST', '订单金额与原订单金额不一致');
      }
      await engine('refund', () =>
        gateway.refund({
          out_trade_no: request.out_trade_no,
          out_request_no: request.out_refund_no,
          refund_amount: request.amount.refund,
        }),
      );
      const refund = gateway
        .inspect(request.out_trade_no)
        .refunds.find((r) => r.out_request_no === request.out_refund_no)!;
      return refundView(trade, refund);
    });

    app.get<{ Params: { outRefundNo: string } }>(
      '/v3/refund/domestic/refunds/:outRefundNo',
      async (req) => {
        verified(req);
        const outRefundNo = req.params.outRefundNo;
        const owner = gateway
          .list()
          .filter((t) => t.channel === 'wechatpay')
          .find((t) =>
            gateway.inspect(t.out_trade_no).refunds.some((r) => r.out_request_no === outRefundNo),
          );
        if (!owner) throw new WechatpayError(404, 'RESOURCE_NOT_EXISTS', '退款单不存在');
        // The engine's query applies the faults and moves a processing refund on.
        const answered = await engine('refund', () =>
          gateway.queryRefund(owner.out_trade_no, outRefundNo),
        );
        const trade = gateway.inspect(owner.out_trade_no);
        const entry = trade.refunds.find((r) => r.out_request_no === outRefundNo)!;
        return refundView(trade, { ...entry, refund_status: answered.refund_status });
      },
    );

    app.get('/v3/bill/tradebill', async (req) => {
      verified(req);
      const query = billQuerySchema.safeParse(req.query);
      if (!query.success) throw new WechatpayError(400, 'PARAM_ERROR', 'bill_date is not a date');
      const csv = Buffer.from(tradeBill(gateway, query.data.bill_date, query.data.bill_type));
      const token = randomBytes(24).toString('base64url');
      for (const [key, value] of downloads)
        if (value.expiresAtMs < Date.now()) downloads.delete(key);
      downloads.set(token, { gzip: gzipSync(csv), expiresAtMs: Date.now() + 5 * 60 * 1000 });
      return {
        hash_type: 'SHA1',
        hash_value: createHash('sha1').update(csv).digest('hex'),
        download_url: `${options.publicUrl}/wechatpay/v3/billdownload/file?token=${token}`,
      };
    });

    // The certificate download API. The simulator seals the platform's public key (PEM) where
    // WeChat Pay seals an X.509 certificate: node makes no certificates, and the adapter reads both.
    app.get(certificatesPath, async (req): Promise<CertificatesAnswer> => {
      verified(req);
      certificateDownloads += 1;
      return {
        data: platformKeys.map((key) => {
          const sealNonce = nonce(12);
          return {
            serial_no: key.serialNo,
            effective_time: formatChinaRfc3339(key.effectiveAt),
            expire_time: formatChinaRfc3339(
              new Date(key.effectiveAt.getTime() + certificateLifetimeMs),
            ),
            encrypt_certificate: {
              algorithm: 'AEAD_AES_256_GCM',
              nonce: sealNonce,
              associated_data: certificateAssociatedData,
              ciphertext: encryptResource(
                key.publicKey,
                options.apiV3Key,
                sealNonce,
                certificateAssociatedData,
              ),
            },
          };
        }),
      };
    });

    app.get<{ Querystring: { token?: string } }>('/v3/billdownload/file', async (req, reply) => {
      verified(req);
      const download = downloads.get(req.query.token ?? '');
      if (!download || download.expiresAtMs < Date.now()) {
        throw new WechatpayError(400, 'INVALID_REQUEST', '下载链接已失效');
      }
      return reply.type('application/octet-stream').send(download.gzip);
    });
  };

  /** Control: what the platform signs with and lists, and a rotation to a new certificate. */
  const control: FastifyPluginAsync = async (app) => {
    const view = () => ({
      signingSerialNo: signing().serialNo,
      serialNos: platformKeys.map((key) => key.serialNo),
      downloads: certificateDownloads,
    });
    app.get('/platform-certificates', async () => view());
    app.post('/platform-certificates/rotate', async () => {
      const next = generateKeyPair();
      platformKeys.push({
        serialNo: next.serial,
        privateKey: next.privateKey,
        publicKey: next.publicKey,
        effectiveAt: new Date(),
      });
      return view();
    });
  };

  return {
    channel: 'wechatpay',
    routes: async (app, deps) => {
      await app.register(api, { ...deps, prefix: '/wechatpay' });
      await app.register(control, { prefix: '/control/wechatpay' });
    },
    retrySeconds: options.retrySeconds,

    encodeNotification(trade, notification) {
      // WeChat Pay notifies successes only; the engine's stale "waiting" notification (the
      // reorder fault) goes out in the same envelope with trade_state NOTPAY.
      const success = notification.trade_status === 'TRADE_SUCCESS';
      const state: WechatpayTradeState = success ? 'SUCCESS' : 'NOTPAY';
      const resource = transaction(
        {
          ...trade,
          trade_status: notification.trade_status,
          total_amount: notification.total_amount,
          ...(notification.gmt_payment ? { gmt_payment: notification.gmt_payment } : {}),
        },
        [],
        state,
      );
      const resourceNonce = nonce(12);
      const associatedData = 'transaction';
      const envelope: WechatpayNotification = {
        id: notification.notify_id,
        create_time: formatChinaRfc3339(new Date()),
        event_type: success ? 'TRANSACTION.SUCCESS' : 'TRANSACTION.NOTPAY',
        resource_type: 'encrypt-resource',
        summary: success ? '支付成功' : '未支付',
        resource: {
          original_type: 'transaction',
          algorithm: 'AEAD_AES_256_GCM',
          ciphertext: encryptResource(
            JSON.stringify(resource),
            options.apiV3Key,
            resourceNonce,
            associatedData,
          ),
          associated_data: associatedData,
          nonce: resourceNonce,
        },
      };
      const body = JSON.stringify(envelope);
      return {
        body,
        headers: {
          'content-type': 'application/json',
          ...platformSigned(body),
        },
      };
    },
    isAcknowledged: (status) => status === 200 || status === 204,
  };
}

/** Trades another channel's face created are not WeChat Pay's to show. */
function ours(gateway: TradeEngine, outTradeNo: string) {
  let channel: string | undefined;
  try {
    channel = gateway.inspect(outTradeNo).channel;
  } catch (err) {
    if (err instanceof GatewayError) throw wechatpayError(err, 'trade');
    throw err;
  }
  if (channel !== 'wechatpay') throw new WechatpayError(404, 'ORDER_NOT_EXIST', '订单不存在');
}
