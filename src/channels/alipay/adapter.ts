// paycenter's adapter for Alipay (OpenAPI v2 gateway, RSA2). Requests are signed, sent and their
// answers verified by the official alipay-sdk; notifications are verified by it too.
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AlipaySdk, type AlipaySdkCommonResult } from 'alipay-sdk';
import { z } from 'zod';
import { DomainError } from '../../domain/errors';
import { notificationFields } from '../notificationFields';
import type { ChannelFact } from '../../domain/payOrder';
import { formatChinaDateTime } from '../chinaTime';
import type { AlipayCredentials } from '../credentials';
import { inBatches, startDownload, textLines } from '../statements';
import {
  ChannelRejectedError,
  ChannelUnavailableError,
  type ChannelAdapter,
  type ChannelOrderCreated,
  type ChannelOrderRequest,
  type ChannelRefundStatus,
  type IncomingNotification,
  type VerifiedNotification,
} from '../types';
import { isBillDetail, tradeBillLines } from './bill';
import { zipEntryData } from './zip';
import {
  alipayCodes,
  alipayMethods,
  alipayTradeStatuses,
  fromYuan,
  isTryLater,
  pagePayProductCode,
  parseForm,
  precreateProductCode,
  toYuan,
  type AlipayTradeStatus,
} from './protocol';

/** Our statuses for Alipay's, in one exhaustive switch (notifications and queries alike). */
export function toPayStatus(status: AlipayTradeStatus): ChannelFact['status'] {
  switch (status) {
    case 'WAIT_BUYER_PAY':
      return 'PENDING';
    case 'TRADE_SUCCESS':
    // Paid, and past the refund period: still paid.
    case 'TRADE_FINISHED':
      return 'SUCCEEDED';
    // Unpaid and closed (timeout, close), or paid and then fully refunded: never a success now.
    case 'TRADE_CLOSED':
      return 'CLOSED';
  }
}

/**
 * `alipay.trade.refund` answers fund_change "Y" when this request moved the money; "N" (a repeat,
 * or a refund not yet done) is confirmed by a refund query.
 */
export function toRefundStatus(fundChange: string | undefined): ChannelRefundStatus {
  return fundChange === 'Y' ? 'SUCCEEDED' : 'PROCESSING';
}

/** The pay order's expiry as Alipay's time_expire: "yyyy-MM-dd HH:mm:ss", Beijing time. */
export function timeExpire(expiresAt: string): string {
  const date = new Date(expiresAt);
  if (Number.isNaN(date.getTime())) throw new RangeError(`"${expiresAt}" is not a date`);
  return formatChinaDateTime(date);
}

/** Whether a channel order's time_expire has passed; an unknown one never has. */
export function hasExpired(expiresAt: string | undefined, nowMs = Date.now()): boolean {
  if (expiresAt === undefined) return false;
  const expiresAtMs = Date.parse(expiresAt);
  return !Number.isNaN(expiresAtMs) && nowMs >= expiresAtMs;
}

const tradeStatus = z.enum(alipayTradeStatuses);
const yuan = z.string().transform((text, ctx) => {
  try {
    return fromYuan(text);
  } catch {
    ctx.addIssue({ code: 'custom', message: `"${text}" is not an amount in yuan` });
    return z.NEVER;
  }
});

const notificationSchema = z.object({
  notify_id: z.string().min(1),
  app_id: z.string(),
  out_trade_no: z.string().min(1),
  trade_no: z.string().min(1),
  trade_status: tradeStatus,
  total_amount: yuan,
});
const queryAnswer = z.object({
  out_trade_no: z.string(),
  trade_no: z.string(),
  trade_status: tradeStatus,
  total_amount: yuan,
});
const precreateAnswer = z.object({ out_trade_no: z.string(), qr_code: z.string().min(1) });
const refundAnswer = z.object({ fund_change: z.string().optional() });
const refundQueryAnswer = z.object({ refund_status: z.string().optional() });
const billUrlAnswer = z.object({ bill_download_url: z.url() });

type Answer =
  { ok: true; data: AlipaySdkCommonResult } | { ok: false; subCode: string; message: string };

export interface AlipayAdapterOptions {
  timeoutMs: number;
}

export function createAlipayAdapter(
  credentials: AlipayCredentials,
  options: AlipayAdapterOptions,
): ChannelAdapter {
  const sdk = new AlipaySdk({
    appId: credentials.appId,
    privateKey: credentials.appPrivateKey,
    keyType: 'PKCS8',
    alipayPublicKey: credentials.alipayPublicKey,
    gateway: credentials.gatewayUrl,
    endpoint: new URL(credentials.gatewayUrl).origin,
    signType: 'RSA2',
    timeout: options.timeoutMs,
    camelcase: false,
  });

  /**
   * Calls one gateway method; answers the verified response, or the business refusal (40004).
   * Transport errors, non-200 answers, bad answer signatures and "service unavailable" throw
   * ChannelUnavailableError; other refusals (bad parameters, permissions) ChannelRejectedError.
   */
  async function call(
    method: string,
    bizContent: Record<string, unknown>,
    extra: Record<string, string> = {},
  ): Promise<Answer> {
    let data: AlipaySdkCommonResult;
    try {
      data = await sdk.exec(method, { bizContent, ...extra }, { validateSign: true });
    } catch (err) {
      throw new ChannelUnavailableError(`alipay ${method}: ${(err as Error).message}`);
    }
    const code = String(data.code ?? '');
    const subCode = typeof data.sub_code === 'string' ? data.sub_code : '';
    const message = `${data.msg ?? ''}${data.sub_msg ? `: ${data.sub_msg}` : ''}`;
    if (code === alipayCodes.success) return { ok: true, data };
    if (code === alipayCodes.unavailable || isTryLater(subCode)) {
      throw new ChannelUnavailableError(`alipay ${method}: ${code} ${subCode} ${message}`);
    }
    if (code === alipayCodes.businessFailure) return { ok: false, subCode, message };
    throw new ChannelRejectedError(subCode || code, `alipay ${method}: ${code} ${message}`);
  }

  function parsed<T>(schema: z.ZodType<T>, method: string, data: unknown): T {
    const result = schema.safeParse(data);
    if (!result.success) {
      throw new ChannelUnavailableError(
        `alipay ${method}: unexpected answer ${z.prettifyError(result.error)}`,
      );
    }
    return result.data;
  }

  function rejected(method: string, answer: { subCode: string; message: string }): never {
    throw new ChannelRejectedError(answer.subCode, `alipay ${method}: ${answer.message}`);
  }

  async function queryOrder(outTradeNo: string): Promise<ChannelFact> {
    const method = alipayMethods.query;
    const answer = await call(method, { out_trade_no: outTradeNo });
    if (!answer.ok) {
      // No such trade. An Alipay trade exists only once the payer opens the page URL or scans the
      // QR code, and both stay payable until time_expire: the order is waiting for the payer.
      // Even for a precreate whose answer was lost, "not yet" is the only safe reading.
      if (answer.subCode === 'ACQ.TRADE_NOT_EXIST') {
        return { outTradeNo, status: 'PENDING', source: 'query' };
      }
      rejected(method, answer);
    }
    const trade = parsed(queryAnswer, method, answer.data);
    return {
      outTradeNo: trade.out_trade_no,
      status: toPayStatus(trade.trade_status),
      amount: trade.total_amount,
      channelTradeNo: trade.trade_no,
      source: 'query',
    };
  }

  return {
    name: 'alipay',
    methods: ['page', 'qr'],
    handOffs: { page: 'redirect', qr: 'qr' },
    currencies: ['CNY'],

    async createOrder(order: ChannelOrderRequest): Promise<ChannelOrderCreated> {
      if (order.currency !== 'CNY') {
        throw new ChannelRejectedError('UNSUPPORTED_CURRENCY', 'alipay takes CNY only');
      }
      const common = {
        out_trade_no: order.outTradeNo,
        total_amount: toYuan(order.amount),
        subject: order.subject,
        time_expire: timeExpire(order.expiresAt),
      };
      switch (order.method) {
        case 'page': {
          // Nothing is sent: the payer's browser carries the signed request to Alipay, which
          // creates the trade when the payer opens it.
          const payUrl = sdk.pageExecute(alipayMethods.pagePay, 'GET', {
            bizContent: { ...common, product_code: pagePayProductCode },
            notifyUrl: order.notifyUrl,
            ...(order.returnUrl ? { returnUrl: order.returnUrl } : {}),
          });
          return { payUrl };
        }
        case 'qr': {
          const method = alipayMethods.precreate;
          const answer = await call(
            method,
            { ...common, product_code: precreateProductCode },
            { notifyUrl: order.notifyUrl },
          );
          if (!answer.ok) rejected(method, answer);
          return { payUrl: parsed(precreateAnswer, method, answer.data).qr_code };
        }
        default:
          throw new ChannelRejectedError(
            'UNSUPPORTED_METHOD',
            `alipay has no method ${order.method}`,
          );
      }
    },

    queryOrder,

    async closeOrder(outTradeNo, context = {}) {
      const method = alipayMethods.close;
      const answer = await call(method, { out_trade_no: outTradeNo });
      if (answer.ok) return { kind: 'closed' };
      switch (answer.subCode) {
        // Not opened by the payer yet (a page URL, a QR code): nothing to close now, but the payer
        // can still open and pay it until time_expire, so only a passed time_expire closes it.
        case 'ACQ.TRADE_NOT_EXIST':
          if (hasExpired(context.expiresAt)) return { kind: 'closed' };
          throw new ChannelRejectedError(
            answer.subCode,
            `alipay ${method}: the payer has not opened ${outTradeNo} yet and can still pay it ` +
              `until its time_expire (${context.expiresAt ?? 'unknown'}): not closed`,
          );
        // Alipay refuses to close a trade that is not waiting for payment: learn which it is.
        case 'ACQ.TRADE_STATUS_ERROR':
        case 'ACQ.TRADE_HAS_SUCCESS':
        case 'ACQ.TRADE_HAS_CLOSE': {
          const fact = await queryOrder(outTradeNo);
          if (fact.status === 'SUCCEEDED') return { kind: 'alreadyPaid', fact };
          if (fact.status === 'CLOSED') return { kind: 'closed' };
          throw new ChannelUnavailableError(
            `alipay ${method}: refused with ${answer.subCode} but the trade is ${fact.status}`,
          );
        }
        default:
          return rejected(method, answer);
      }
    },

    async refund({ outTradeNo, refundNo, amount }) {
      const method = alipayMethods.refund;
      const answer = await call(method, {
        out_trade_no: outTradeNo,
        refund_amount: toYuan(amount),
        out_request_no: refundNo,
      });
      if (!answer.ok) rejected(method, answer);
      return toRefundStatus(parsed(refundAnswer, method, answer.data).fund_change);
    },

    async queryRefund(outTradeNo, refundNo) {
      const method = alipayMethods.refundQuery;
      const answer = await call(method, {
        out_trade_no: outTradeNo,
        out_request_no: refundNo,
        query_options: ['gmt_refund_pay'],
      });
      if (!answer.ok) {
        if (answer.subCode === 'ACQ.TRADE_NOT_EXIST') return 'FAILED';
        rejected(method, answer);
      }
      // Only REFUND_SUCCESS is a success. No refund_status means Alipay has not (or not yet)
      // refunded under this out_request_no, and its documented remedy is to send the refund
      // again with the same out_request_no: FAILED here makes the refund follower do exactly that.
      const status = parsed(refundQueryAnswer, method, answer.data).refund_status;
      return status === 'REFUND_SUCCESS' ? 'SUCCEEDED' : 'FAILED';
    },

    async *fetchStatement(day, record) {
      const method = alipayMethods.billUrl;
      const answer = await call(method, { bill_type: 'trade', bill_date: day });
      if (!answer.ok) rejected(method, answer);
      const url = parsed(billUrlAnswer, method, answer.data).bill_download_url;
      const unavailable = (err: unknown) =>
        new ChannelUnavailableError(`alipay bill ${day}: ${(err as Error).message}`);
      // A zip is read from its end (the central directory): it goes to disk first, never whole
      // into memory, and its detail CSV is then inflated, decoded and parsed as it is read.
      const folder = await mkdtemp(path.join(os.tmpdir(), 'alipay-bill-'));
      try {
        const file = path.join(folder, 'bill.zip');
        try {
          const download = await startDownload(
            (signal) => fetch(url, { signal }),
            options.timeoutMs,
          );
          if (!download.response.ok) {
            await download.response.body?.cancel();
            throw new Error(`HTTP ${download.response.status}`);
          }
          await pipeline(Readable.from(download.bytes(record)), createWriteStream(file));
        } catch (err) {
          throw unavailable(err);
        }
        try {
          yield* inBatches(tradeBillLines(textLines(zipEntryData(file, isBillDetail), 'gbk')));
        } catch (err) {
          throw unavailable(err);
        }
      } finally {
        await rm(folder, { recursive: true, force: true });
      }
    },

    verifyNotification({ rawBody }: IncomingNotification): VerifiedNotification {
      const forged = (why: string) =>
        new DomainError('INVALID_SIGNATURE', `alipay notification rejected: ${why}`);
      const params = parseForm(rawBody);
      if (!params) throw forged('repeated parameters');
      if (params.sign_type !== 'RSA2') throw forged('sign_type is not RSA2');
      // Sorted name=value of every parameter but sign and sign_type, RSA2 with Alipay's key.
      if (!sdk.checkNotifySignV2(params)) throw forged('signature is missing or wrong');
      if (params.app_id !== credentials.appId) throw forged('not for our app_id');
      const n = notificationFields('alipay', notificationSchema, params);
      return {
        dedupeKey: n.notify_id,
        fact: {
          outTradeNo: n.out_trade_no,
          status: toPayStatus(n.trade_status),
          amount: n.total_amount,
          channelTradeNo: n.trade_no,
          source: 'notify',
        },
      };
    },

    // The signature travels in the form body.
    notificationHeaders: [],

    replies: {
      accepted: { status: 200, contentType: 'text/plain', body: 'success' },
      rejected: { status: 500, contentType: 'text/plain', body: 'fail' },
    },
  };
}
