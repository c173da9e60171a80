// paycenter's adapter for the sandbox channel: maps our requests to its gateway and its statuses to ours.
import { z } from 'zod';
import { DomainError } from '../../domain/errors';
import { notificationFields } from '../notificationFields';
import { currencies, type Currency } from '../../domain/money';
import type { ChannelFact } from '../../domain/payOrder';
import {
  ChannelRejectedError,
  ChannelUnavailableError,
  type ChannelAdapter,
  type ChannelOrderRequest,
  type ChannelRefundStatus,
  type StatementLine,
} from '../types';
import { inBatches, startDownload, textLines, type Download } from '../statements';
import {
  sandboxBillColumns,
  sandboxHeaders,
  signedHeaders,
  verifySignature,
  type SandboxCreateRequest,
  type SandboxRefundStatus,
  type SandboxTradeStatus,
} from './protocol';

const tradeStatus = z.enum(['WAIT_BUYER_PAY', 'TRADE_SUCCESS', 'TRADE_CLOSED']);

const tradeSchema = z.object({
  out_trade_no: z.string(),
  trade_no: z.string(),
  trade_status: tradeStatus,
  total_amount: z.number().int(),
  currency: z.string(),
  pay_url: z.string(),
});

const notificationSchema = z.object({
  notify_id: z.string().min(1),
  out_trade_no: z.string().min(1),
  trade_no: z.string(),
  trade_status: tradeStatus,
  total_amount: z.number().int(),
  currency: z.string(),
});

const refundSchema = z.object({
  refund_status: z.enum(['REFUND_PROCESSING', 'REFUND_SUCCESS', 'REFUND_CLOSED']),
});

const errorSchema = z.object({ code: z.string(), message: z.string().optional() });

export function toPayStatus(status: SandboxTradeStatus): ChannelFact['status'] {
  switch (status) {
    case 'WAIT_BUYER_PAY':
      return 'PENDING';
    case 'TRADE_SUCCESS':
      return 'SUCCEEDED';
    case 'TRADE_CLOSED':
      return 'CLOSED';
  }
}

export function toRefundStatus(status: SandboxRefundStatus): ChannelRefundStatus {
  switch (status) {
    case 'REFUND_PROCESSING':
      return 'PROCESSING';
    case 'REFUND_SUCCESS':
      return 'SUCCEEDED';
    case 'REFUND_CLOSED':
      return 'FAILED';
  }
}

/** The sandbox bill's rows as statement lines, after its header (checked first). */
async function* billLines(
  rows: AsyncIterable<string>,
  unavailable: (why: string) => Error,
): AsyncIterable<StatementLine> {
  let header: string | undefined;
  for await (const row of rows) {
    if (row.trim() === '') continue;
    if (header === undefined) {
      header = row;
      if (header !== sandboxBillColumns.join(','))
        throw unavailable(`unexpected columns ${header}`);
      continue;
    }
    const [kind, outTradeNo, channelTradeNo, amount, currency, refundNo, at] = row.split(',');
    yield {
      kind: kind === 'REFUND' ? 'REFUND' : 'PAYMENT',
      outTradeNo: outTradeNo!,
      channelTradeNo: channelTradeNo!,
      amount: Number(amount),
      currency: currency!,
      ...(refundNo ? { refundNo } : {}),
      at: at!,
    };
  }
  if (header === undefined) throw unavailable('no header line');
}

export interface SandboxAdapterOptions {
  baseUrl: string;
  appId: string;
  secret: string;
  timeoutMs?: number;
  /** What it takes; default every currency paycenter supports. */
  currencies?: readonly Currency[];
}

export function createSandboxAdapter(options: SandboxAdapterOptions): ChannelAdapter {
  const timeoutMs = options.timeoutMs ?? 10_000;

  async function post(path: string, payload: object, signal = AbortSignal.timeout(timeoutMs)) {
    const body = JSON.stringify(payload);
    let response: Response;
    try {
      response = await fetch(new URL(path, options.baseUrl), {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...signedHeaders(options.appId, options.secret, body, Date.now()),
        },
        body,
        signal,
      });
    } catch (err) {
      throw new ChannelUnavailableError(`sandbox ${path}: ${(err as Error).message}`);
    }
    return response;
  }

  /** POSTs a signed request; answers the parsed body, or `{ error }` for a business refusal. */
  async function call(path: string, payload: object) {
    const response = await post(path, payload);
    const text = await response.text();
    // 429 (FREQUENCY_LIMITED) refuses nothing for good: the same request may go again later.
    if (response.status >= 500 || response.status === 429) {
      throw new ChannelUnavailableError(`sandbox ${path}: HTTP ${response.status} ${text}`);
    }
    const json: unknown = text ? JSON.parse(text) : {};
    if (response.ok) return { ok: true as const, json };
    const error = errorSchema.safeParse(json);
    if (!error.success) {
      throw new ChannelUnavailableError(`sandbox ${path}: HTTP ${response.status} ${text}`);
    }
    return { ok: false as const, code: error.data.code, message: error.data.message ?? '' };
  }

  function factFrom(
    trade: z.infer<typeof tradeSchema>,
    source: ChannelFact['source'],
  ): ChannelFact {
    return {
      outTradeNo: trade.out_trade_no,
      status: toPayStatus(trade.trade_status),
      amount: trade.total_amount,
      channelTradeNo: trade.trade_no,
      source,
    };
  }

  return {
    name: 'sandbox',
    methods: ['page', 'qr'],
    handOffs: { page: 'redirect', qr: 'qr' },
    currencies: options.currencies ?? currencies,

    async createOrder(order: ChannelOrderRequest) {
      const request: SandboxCreateRequest = {
        out_trade_no: order.outTradeNo,
        total_amount: order.amount,
        currency: order.currency,
        subject: order.subject,
        method: order.method,
        time_expire: order.expiresAt,
        notify_url: order.notifyUrl,
        ...(order.returnUrl ? { return_url: order.returnUrl } : {}),
      };
      const answer = await call('/gateway/trade/create', request);
      if (!answer.ok) throw new ChannelRejectedError(answer.code, answer.message);
      const trade = tradeSchema.parse(answer.json);
      return { payUrl: trade.pay_url, channelTradeNo: trade.trade_no };
    },

    async queryOrder(outTradeNo) {
      const answer = await call('/gateway/trade/query', { out_trade_no: outTradeNo });
      if (!answer.ok) {
        if (answer.code === 'TRADE_NOT_EXIST')
          return { outTradeNo, status: 'NOT_FOUND', source: 'query' };
        throw new ChannelRejectedError(answer.code, answer.message);
      }
      return factFrom(tradeSchema.parse(answer.json), 'query');
    },

    async closeOrder(outTradeNo) {
      const answer = await call('/gateway/trade/close', { out_trade_no: outTradeNo });
      if (answer.ok) return { kind: 'closed' };
      switch (answer.code) {
        case 'TRADE_HAS_CLOSE':
        case 'TRADE_NOT_EXIST':
          return { kind: 'closed' };
        case 'TRADE_HAS_SUCCESS': {
          // The payer got there first: the close failing is the news that the order is paid.
          return { kind: 'alreadyPaid', fact: await this.queryOrder(outTradeNo) };
        }
        default:
          throw new ChannelRejectedError(answer.code, answer.message);
      }
    },

    async refund({ outTradeNo, refundNo, amount }) {
      const answer = await call('/gateway/trade/refund', {
        out_trade_no: outTradeNo,
        out_request_no: refundNo,
        refund_amount: amount,
      });
      if (!answer.ok) throw new ChannelRejectedError(answer.code, answer.message);
      return toRefundStatus(refundSchema.parse(answer.json).refund_status);
    },

    async queryRefund(outTradeNo, refundNo) {
      const answer = await call('/gateway/trade/refund/query', {
        out_trade_no: outTradeNo,
        out_request_no: refundNo,
      });
      if (!answer.ok) {
        // A refund the channel never received has not happened: it is not a success.
        if (answer.code === 'REFUND_NOT_EXIST') return 'FAILED';
        throw new ChannelRejectedError(answer.code, answer.message);
      }
      return toRefundStatus(refundSchema.parse(answer.json).refund_status);
    },

    async *fetchStatement(day, record) {
      const path = '/gateway/bill/download';
      const unavailable = (why: string) =>
        new ChannelUnavailableError(`sandbox bill ${day}: ${why}`);
      let download: Download;
      try {
        download = await startDownload(
          (signal) => post(path, { bill_date: day }, signal),
          timeoutMs,
        );
      } catch (err) {
        throw err instanceof ChannelUnavailableError ? err : unavailable((err as Error).message);
      }
      if (!download.response.ok) {
        await download.response.body?.cancel();
        throw unavailable(`HTTP ${download.response.status}`);
      }
      try {
        yield* inBatches(billLines(textLines(download.bytes(record)), unavailable));
      } catch (err) {
        throw err instanceof ChannelUnavailableError ? err : unavailable((err as Error).message);
      }
    },

    verifyNotification({ headers, rawBody }) {
      if (!verifySignature(options.secret, headers, rawBody, Date.now())) {
        throw new DomainError(
          'INVALID_SIGNATURE',
          'sandbox notification signature is missing or wrong',
        );
      }
      let json: unknown;
      try {
        json = JSON.parse(rawBody);
      } catch {
        throw new DomainError('VALIDATION_FAILED', 'sandbox notification body is not JSON');
      }
      const n = notificationFields('sandbox', notificationSchema, json);
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

    notificationHeaders: Object.values(sandboxHeaders),

    replies: {
      accepted: { status: 200, contentType: 'text/plain', body: 'success' },
      rejected: { status: 500, contentType: 'text/plain', body: 'fail' },
    },
  };
}
