// The Alipay face of the simulator: Alipay's OpenAPI gateway (/alipay/gateway.do, RSA2 both ways),
// its page-pay entry for the payer's browser, trade bills as zips, and its notifications.
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { z } from 'zod';
import { buildTradeBill } from '../../src/channels/alipay/bill';
import {
  alipayCodes,
  alipayMethods,
  fromYuan,
  maxAmountFen,
  pagePayProductCode,
  parseForm,
  responseKey,
  rsa2Sign,
  rsa2Verify,
  signContent,
  toYuan,
  type AlipayTradeStatus,
} from '../../src/channels/alipay/protocol';
import { formatChinaDateTime, parseChinaDateTime } from '../../src/channels/chinaTime';
import { escapeHtml, sendPage } from '../../src/html';
import { GatewayError, type TradeEngine } from '../engine';
import type { ChannelFace, FaceContext } from '../server';

export interface AlipayFaceOptions {
  appId: string;
  /** Our app's public key: the simulator verifies our requests with it. */
  appPublicKey: string;
  /** Alipay's private key: the simulator signs answers and notifications with it. */
  alipayPrivateKey: string;
  retrySeconds: number[];
  publicUrl: string;
}

/** What Alipay answers inside `<method>_response`: code, msg, and sub_code/sub_msg on failure. */
type Content = Record<string, unknown> & {
  code: string;
  msg: string;
  sub_code?: string;
  sub_msg?: string;
};

class AlipayRefusal extends Error {
  constructor(
    readonly content: Content,
    readonly httpStatus = 200,
  ) {
    super(`${content.code} ${content.sub_code ?? ''} ${content.sub_msg ?? ''}`);
  }
}

const invalidArguments = (subCode: string, subMsg: string) =>
  new AlipayRefusal({
    code: alipayCodes.invalidParameter,
    msg: 'Invalid Arguments',
    sub_code: subCode,
    sub_msg: subMsg,
  });
const missingArguments = (subCode: string, subMsg: string) =>
  new AlipayRefusal({
    code: alipayCodes.missingParameter,
    msg: 'Missing Required Arguments',
    sub_code: subCode,
    sub_msg: subMsg,
  });
const businessFailure = (subCode: string, subMsg: string) =>
  new AlipayRefusal({
    code: alipayCodes.businessFailure,
    msg: 'Business Failed',
    sub_code: subCode,
    sub_msg: subMsg,
  });

/** The engine's refusals in Alipay's words (a few depend on the method that met them). */
function refusalOf(err: GatewayError, method: string): AlipayRefusal {
  switch (err.code) {
    case 'TRADE_NOT_EXIST':
      return businessFailure('ACQ.TRADE_NOT_EXIST', '交易不存在');
    case 'OUT_TRADE_NO_USED':
      return businessFailure('ACQ.CONTEXT_INCONSISTENT', '交易信息被篡改');
    case 'TRADE_HAS_SUCCESS':
      return method === alipayMethods.close
        ? businessFailure('ACQ.TRADE_STATUS_ERROR', '交易状态不合法')
        : businessFailure('ACQ.TRADE_HAS_SUCCESS', '交易已被支付');
    case 'TRADE_HAS_CLOSE':
      return businessFailure('ACQ.TRADE_HAS_CLOSE', '交易已经关闭');
    case 'TRADE_NOT_PAID':
      return businessFailure('ACQ.TRADE_STATUS_ERROR', '交易状态不合法');
    case 'REFUND_AMOUNT_EXCEEDED':
      return businessFailure('ACQ.REFUND_AMT_NOT_EQUAL_TOTAL', '退款金额超限');
    case 'REFUND_NOT_EXIST':
      return businessFailure('ACQ.TRADE_NOT_EXIST', '退款不存在');
    case 'INVALID_SIGNATURE':
      return invalidArguments('isv.invalid-signature', '验签出错');
    case 'INVALID_REQUEST':
      return businessFailure('ACQ.INVALID_PARAMETER', err.message);
    case 'FREQUENCY_LIMITED':
      return businessFailure('isv.app-call-limited', '应用调用次数超限');
    case 'SYSTEM_ERROR':
      return new AlipayRefusal({
        code: alipayCodes.unavailable,
        msg: 'Service Currently Unavailable',
        sub_code: 'isp.unknow-error',
        sub_msg: '系统繁忙',
      });
  }
}

const outTradeNo = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);
const amountYuan = z.string().transform((text, ctx) => {
  try {
    const fen = fromYuan(text);
    if (fen >= 1 && fen <= maxAmountFen) return fen;
  } catch {
    // fall through
  }
  ctx.addIssue({ code: 'custom', message: `total_amount "${text}" is not in [0.01, 100000000]` });
  return z.NEVER;
});
const chinaDateTime = z.string().transform((text, ctx) => {
  try {
    return parseChinaDateTime(text);
  } catch {
    ctx.addIssue({ code: 'custom', message: `"${text}" is not yyyy-MM-dd HH:mm:ss` });
    return z.NEVER;
  }
});
const orderBiz = z.object({
  out_trade_no: outTradeNo,
  total_amount: amountYuan,
  subject: z.string().min(1).max(256),
  time_expire: chinaDateTime.optional(),
  product_code: z.string().optional(),
});
const tradeRef = z.object({ out_trade_no: outTradeNo });
const refundBiz = z.object({
  out_trade_no: outTradeNo,
  refund_amount: amountYuan,
  out_request_no: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
});
const refundRef = z.object({ out_trade_no: outTradeNo, out_request_no: z.string().min(1) });
const billBiz = z.object({
  bill_type: z.enum(['trade', 'signcustomer']),
  bill_date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
});

const billTokenTtlMs = 30_000; // Alipay's bill_download_url is valid for 30 seconds

export function alipayFace(options: AlipayFaceOptions): ChannelFace {
  const pid = `2088${options.appId.replace(/\D/g, '').slice(-12).padStart(12, '0')}`;
  const billTokens = new Map<string, { day: string; expiresAtMs: number }>();

  /** The request's parameters (query string and form body together), signature verified. */
  function verifiedParams(url: string, body: unknown): Record<string, string> {
    const query = parseForm(url.includes('?') ? url.slice(url.indexOf('?') + 1) : '');
    const form = parseForm(typeof body === 'string' ? body : '');
    if (!query || !form || Object.keys(form).some((k) => Object.hasOwn(query, k))) {
      throw invalidArguments('isv.invalid-parameter', '参数重复');
    }
    const params = { ...query, ...form };
    if (!params.method) throw missingArguments('isv.missing-method', '缺少方法名参数');
    if (!params.app_id) throw missingArguments('isv.missing-app-id', '缺少AppID参数');
    if (!params.sign) throw missingArguments('isv.missing-signature', '缺少签名参数');
    if (params.sign_type !== 'RSA2') {
      throw invalidArguments('isv.invalid-signature-type', '无效的签名类型');
    }
    if (params.app_id !== options.appId) {
      throw invalidArguments('isv.invalid-app-id', '无效的AppID参数');
    }
    if (params.charset && params.charset.toLowerCase() !== 'utf-8') {
      throw invalidArguments('isv.invalid-charset', '字符集错误');
    }
    if (!params.timestamp || !/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(params.timestamp)) {
      throw invalidArguments('isv.invalid-timestamp', '非法的时间戳参数');
    }
    const content = signContent(params);
    if (!rsa2Verify(content, params.sign, options.appPublicKey)) {
      throw invalidArguments(
        'isv.invalid-signature',
        `验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配，网关生成的验签字符串为：${content}`,
      );
    }
    return params;
  }

  function biz<T>(schema: z.ZodType<T>, params: Record<string, string>): T {
    let json: unknown;
    try {
      json = JSON.parse(params.biz_content ?? '');
    } catch {
      throw missingArguments('isv.missing-biz-content', 'biz_content 缺失或不是 JSON');
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      throw businessFailure('ACQ.INVALID_PARAMETER', `参数无效: ${z.prettifyError(parsed.error)}`);
    }
    return parsed.data;
  }

  /** `{"<method>_response":{...},"sign":"..."}`, the sign over the exact text of `{...}`. */
  function respond(reply: FastifyReply, method: string | undefined, content: Content) {
    const known = method && Object.values<string>(alipayMethods).includes(method);
    const key = known ? responseKey(method) : 'error_response';
    const inner = JSON.stringify(content);
    const sign = rsa2Sign(inner, options.alipayPrivateKey);
    return reply
      .type('application/json; charset=utf-8')
      .send(`{"${key}":${inner},"sign":"${sign}"}`);
  }

  const success = (fields: Record<string, unknown>): Content => ({
    code: alipayCodes.success,
    msg: 'Success',
    ...fields,
  });

  function createTrade(
    gateway: TradeEngine,
    params: Record<string, string>,
    method: 'page' | 'qr',
  ) {
    const order = biz(orderBiz, params);
    if (method === 'page' && order.product_code !== pagePayProductCode) {
      throw businessFailure('ACQ.INVALID_PARAMETER', `product_code must be ${pagePayProductCode}`);
    }
    if (!params.notify_url) throw businessFailure('ACQ.INVALID_PARAMETER', 'notify_url 缺失');
    const now = Date.now();
    // Without time_expire: page pay waits 15 days, a precreated QR code 2 hours.
    const expires =
      order.time_expire ?? new Date(now + (method === 'page' ? 15 * 24 : 2) * 3600 * 1000);
    if (expires.getTime() <= now) {
      throw businessFailure('ACQ.TRADE_HAS_CLOSE', '交易已经关闭（已超过 time_expire）');
    }
    // A page trade is created when the payer opens it; a precreated QR code exists at Alipay only
    // once the payer scans it (query and close answer ACQ.TRADE_NOT_EXIST until then), yet it can
    // be scanned and paid until time_expire.
    const trade = gateway.createTrade(
      'alipay',
      {
        out_trade_no: order.out_trade_no,
        total_amount: order.total_amount,
        currency: 'CNY',
        subject: order.subject,
        method,
        time_expire: expires.toISOString(),
        notify_url: params.notify_url,
        ...(params.return_url ? { return_url: params.return_url } : {}),
      },
      { existsOnceOpened: method === 'qr' },
    );
    if (trade.trade_status === 'TRADE_SUCCESS') {
      throw businessFailure('ACQ.TRADE_HAS_SUCCESS', '交易已被支付');
    }
    if (trade.trade_status === 'TRADE_CLOSED') {
      throw businessFailure('ACQ.TRADE_HAS_CLOSE', '交易已经关闭');
    }
    return trade;
  }

  function refundedFen(gateway: TradeEngine, no: string): number {
    return gateway
      .inspect(no)
      .refunds.filter((r) => r.refund_status === 'REFUND_SUCCESS')
      .reduce((sum, r) => sum + r.refund_amount, 0);
  }

  async function api(
    gateway: TradeEngine,
    method: string,
    params: Record<string, string>,
  ): Promise<Content> {
    switch (method) {
      case alipayMethods.precreate: {
        const trade = createTrade(gateway, params, 'qr');
        return success({ out_trade_no: trade.out_trade_no, qr_code: trade.pay_url });
      }
      case alipayMethods.query: {
        const { out_trade_no } = biz(tradeRef, params);
        const trade = await gateway.queryTrade(out_trade_no);
        let status: AlipayTradeStatus = trade.trade_status;
        // A paid trade refunded in full is closed, as Alipay reports it.
        if (
          status === 'TRADE_SUCCESS' &&
          refundedFen(gateway, out_trade_no) >= trade.total_amount
        ) {
          status = 'TRADE_CLOSED';
        }
        return success({
          trade_no: trade.trade_no,
          out_trade_no: trade.out_trade_no,
          trade_status: status,
          total_amount: toYuan(trade.total_amount),
          ...(trade.gmt_payment
            ? {
                buyer_pay_amount: toYuan(trade.total_amount),
                receipt_amount: toYuan(trade.total_amount),
                send_pay_date: formatChinaDateTime(new Date(trade.gmt_payment)),
                buyer_logon_id: 'sandbox***@example.com',
              }
            : {}),
        });
      }
      case alipayMethods.close: {
        const { out_trade_no } = biz(tradeRef, params);
        const trade = gateway.closeTrade(out_trade_no);
        return success({ trade_no: trade.trade_no, out_trade_no: trade.out_trade_no });
      }
      case alipayMethods.refund: {
        const request = biz(refundBiz, params);
        const before = gateway
          .inspect(request.out_trade_no)
          .refunds.some((r) => r.out_request_no === request.out_request_no);
        const refund = gateway.refund({
          out_trade_no: request.out_trade_no,
          out_request_no: request.out_request_no,
          refund_amount: request.refund_amount,
        });
        const trade = gateway.inspect(request.out_trade_no);
        return success({
          trade_no: trade.trade_no,
          out_trade_no: trade.out_trade_no,
          buyer_logon_id: 'sandbox***@example.com',
          // Y only when this very request moved money; a repeat answers N.
          fund_change: !before && refund.refund_status === 'REFUND_SUCCESS' ? 'Y' : 'N',
          refund_fee: toYuan(refundedFen(gateway, request.out_trade_no)),
          gmt_refund_pay: formatChinaDateTime(new Date()),
        });
      }
      case alipayMethods.refundQuery: {
        const ref = biz(refundRef, params);
        try {
          const refund = await gateway.queryRefund(ref.out_trade_no, ref.out_request_no);
          const trade = gateway.inspect(ref.out_trade_no);
          const at = trade.refunds.find((r) => r.out_request_no === ref.out_request_no)?.at;
          return success({
            trade_no: trade.trade_no,
            out_trade_no: ref.out_trade_no,
            out_request_no: ref.out_request_no,
            total_amount: toYuan(trade.total_amount),
            refund_amount: toYuan(refund.refund_amount),
            // Only a refund that is done carries refund_status (and its time).
            ...(refund.refund_status === 'REFUND_SUCCESS'
              ? {
                  refund_status: 'REFUND_SUCCESS',
                  ...(at ? { gmt_refund_pay: formatChinaDateTime(new Date(at)) } : {}),
                }
              : {}),
          });
        } catch (err) {
          // Alipay answers 10000 without refund data for a refund it does not know.
          if (err instanceof GatewayError && err.code === 'REFUND_NOT_EXIST') {
            return success({ out_trade_no: ref.out_trade_no, out_request_no: ref.out_request_no });
          }
          throw err;
        }
      }
      case alipayMethods.billUrl: {
        const { bill_type, bill_date } = biz(billBiz, params);
        if (bill_type !== 'trade') throw businessFailure('isp.bill_not_exist', '账单不存在');
        if (bill_date > formatChinaDateTime(new Date()).slice(0, 10)) {
          throw businessFailure('isp.bill_not_exist', '账单不存在');
        }
        const token = randomBytes(16).toString('hex');
        const now = Date.now();
        for (const [t, v] of billTokens) if (v.expiresAtMs < now) billTokens.delete(t);
        billTokens.set(token, { day: bill_date, expiresAtMs: now + billTokenTtlMs });
        return success({
          bill_download_url: `${options.publicUrl}/alipay/bill/${token}.zip`,
        });
      }
      default:
        throw invalidArguments('isv.invalid-method', '不存在的方法名');
    }
  }

  /** The payer's browser arrives with our signed page-pay request: create the trade, show it. */
  async function pagePay(
    gateway: TradeEngine,
    reply: FastifyReply,
    params: Record<string, string>,
  ) {
    const trade = createTrade(gateway, params, 'page');
    return reply.redirect(trade.pay_url, 302);
  }

  function errorPage(reply: FastifyReply, refusal: AlipayRefusal) {
    return sendPage(reply.status(400), '支付宝 - 错误', [
      `<p>错误代码 <code id="sub_code">${escapeHtml(refusal.content.sub_code ?? refusal.content.code)}</code></p>`,
      `<p id="status">${escapeHtml(refusal.content.sub_msg ?? refusal.content.msg)}</p>`,
    ]);
  }

  const routes: FastifyPluginAsync<FaceContext> = async (app, { gateway, statementFiles }) => {
    // Our own scope: keep form bodies as text, so that repeats can be refused and signed
    // values read exactly.
    app.removeContentTypeParser('application/x-www-form-urlencoded');
    app.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string' },
      (_req, body, done) => done(null, body),
    );

    const handle = async (req: { url: string; body: unknown }, reply: FastifyReply) => {
      let method: string | undefined;
      let page = false;
      try {
        const params = verifiedParams(req.url, req.body);
        method = params.method;
        page = method === alipayMethods.pagePay;
        if (page) return await pagePay(gateway, reply, params);
        return respond(reply, method, await api(gateway, params.method!, params));
      } catch (err) {
        let refusal: AlipayRefusal;
        if (err instanceof AlipayRefusal) refusal = err;
        else if (err instanceof GatewayError) refusal = refusalOf(err, method ?? '');
        else throw err;
        // A refused signature may come before we know what was asked: guess from the query.
        page ||= /[?&]method=alipay\.trade\.page\.pay(&|$)/.test(req.url);
        if (page) return errorPage(reply, refusal);
        return respond(reply, method, refusal.content);
      }
    };
    app.get('/alipay/gateway.do', handle);
    app.post('/alipay/gateway.do', handle);

    app.get<{ Params: { file: string } }>('/alipay/bill/:file', async (req, reply) => {
      const token = /^([0-9a-f]{32})\.zip$/.exec(req.params.file)?.[1];
      const issued = token ? billTokens.get(token) : undefined;
      if (!issued || issued.expiresAtMs < Date.now()) {
        return reply.status(404).type('text/plain').send('bill link is unknown or expired');
      }
      const disposition = `attachment; filename="${pid}_${issued.day.replaceAll('-', '')}.csv.zip"`;
      const file = statementFiles.file('alipay', issued.day);
      if (file) {
        return reply
          .type('application/zip')
          .header('content-disposition', disposition)
          .send(createReadStream(file));
      }
      const entries = gateway.statement('alipay', issued.day).map((e) => ({
        kind: e.kind,
        tradeNo: e.tradeNo,
        outTradeNo: e.outTradeNo,
        subject: e.subject,
        amount: e.amount,
        ...(e.refundNo ? { refundNo: e.refundNo } : {}),
        createdAt: e.at,
        at: e.at,
      }));
      const zip = buildTradeBill(pid, issued.day, entries);
      return reply.type('application/zip').header('content-disposition', disposition).send(zip);
    });
  };

  return {
    channel: 'alipay',
    routes,
    retrySeconds: options.retrySeconds,
    encodeNotification(trade, notification) {
      const paid = notification.trade_status === 'TRADE_SUCCESS';
      const params: Record<string, string> = {
        notify_time: formatChinaDateTime(new Date()),
        notify_type: 'trade_status_sync',
        notify_id: notification.notify_id,
        charset: 'utf-8',
        version: '1.0',
        app_id: options.appId,
        auth_app_id: options.appId,
        seller_id: pid,
        trade_no: notification.trade_no,
        out_trade_no: notification.out_trade_no,
        trade_status: notification.trade_status,
        total_amount: toYuan(notification.total_amount),
        ...(paid
          ? {
              receipt_amount: toYuan(notification.total_amount),
              buyer_pay_amount: toYuan(notification.total_amount),
              ...(notification.gmt_payment
                ? { gmt_payment: formatChinaDateTime(new Date(notification.gmt_payment)) }
                : {}),
            }
          : {}),
        ...(trade.trade_status === 'TRADE_CLOSED'
          ? { gmt_close: formatChinaDateTime(new Date()) }
          : {}),
      };
      const sign = rsa2Sign(signContent(params, ['sign', 'sign_type']), options.alipayPrivateKey);
      const body = new URLSearchParams({ ...params, sign_type: 'RSA2', sign }).toString();
      return {
        body,
        headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
      };
    },
    isAcknowledged: (status, body) => status === 200 && body === 'success',
  };
}
