// paycenter's adapter for WeChat Pay API v3 (Native payments): signs every request with the
// merchant key, verifies every answer and notification with the platform key, decrypts
// notifications with the APIv3 key, and maps WeChat Pay's states to ours.
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { z } from 'zod';
import { DomainError } from '../../domain/errors';
import type { ChannelFact } from '../../domain/payOrder';
import { formatChinaRfc3339, parseChinaDateTime } from '../chinaTime';
import type { WechatpayCredentials } from '../credentials';
import {
  ChannelRejectedError,
  ChannelUnavailableError,
  type ChannelAdapter,
  type ChannelOrderRequest,
  type ChannelRefundStatus,
  type StatementLine,
} from '../types';
import { inBatches } from '../statements';
import { PlatformCertificates, publicKeyOfPem } from './certificates';
import {
  authorization,
  certificatesPath,
  checkSignedHeaders,
  fromBillYuan,
  decryptResource,
  signedSerial,
  refundStatuses,
  tradeStates,
  tryLaterCodes,
  wechatpayHeaders,
  type NativePrepayRequest,
  type RefundRequest,
  type WechatpayRefundStatus,
  type WechatpayTradeState,
  jsapiPayParams,
  type JsapiPrepayRequest,
} from './protocol';

/** One exhaustive switch from WeChat Pay's trade_state to our channel-order status. */
export function toPayStatus(state: WechatpayTradeState): ChannelFact['status'] {
  switch (state) {
    case 'SUCCESS':
      return 'SUCCEEDED';
    case 'REFUND':
      // "转入退款": the payer did pay; a refund was started afterwards. The payment stands.
      return 'SUCCEEDED';
    case 'NOTPAY':
    case 'USERPAYING':
      return 'PENDING';
    case 'PAYERROR':
      // One failed try (bank refusal and the like) does not close the trade: only a close does,
      // so it stays pending until the close at expiry confirms it.
      return 'PENDING';
    case 'CLOSED':
    case 'REVOKED':
      return 'CLOSED';
  }
}

/** ABNORMAL (the refund could not reach the payer's account) waits for an operator: not final. */
export function toRefundStatus(status: WechatpayRefundStatus): ChannelRefundStatus {
  switch (status) {
    case 'SUCCESS':
      return 'SUCCEEDED';
    case 'PROCESSING':
    case 'ABNORMAL':
      return 'PROCESSING';
    case 'CLOSED':
      return 'FAILED';
  }
}

/** Our minor units are WeChat Pay's fen: integers both, CNY only. */
export function toFen(amount: number): number {
  if (!Number.isSafeInteger(amount) || amount <= 0) {
    throw new RangeError(`${amount} is not a positive integer number of fen`);
  }
  return amount;
}

/** time_expire: RFC 3339 in Beijing time, from our ISO instant. */
export function timeExpire(expiresAt: string): string {
  const date = new Date(expiresAt);
  if (Number.isNaN(date.getTime())) throw new RangeError(`"${expiresAt}" is not an instant`);
  return formatChinaRfc3339(date);
}

const transactionSchema = z.object({
  out_trade_no: z.string().min(1),
  transaction_id: z.string().optional(),
  trade_state: z.enum(tradeStates),
  success_time: z.string().optional(),
  amount: z
    .object({
      total: z.number().int().optional(),
      payer_total: z.number().int().optional(),
      currency: z.string().optional(),
    })
    .optional(),
});

const refundSchema = z.object({ out_refund_no: z.string(), status: z.enum(refundStatuses) });

const notificationSchema = z.object({
  id: z.string().min(1),
  event_type: z.string().min(1),
  resource_type: z.literal('encrypt-resource'),
  resource: z.object({
    algorithm: z.literal('AEAD_AES_256_GCM'),
    ciphertext: z.string().min(1),
    nonce: z.string().min(1),
    associated_data: z.string().optional().default(''),
    original_type: z.string().optional(),
  }),
});

const billSchema = z.object({
  hash_type: z.literal('SHA1'),
  hash_value: z.string().regex(/^[0-9a-fA-F]{40}$/),
  download_url: z.url(),
});

const errorSchema = z.object({ code: z.string(), message: z.string().optional() });

const certificatesSchema = z.object({
  data: z.array(
    z.object({
      serial_no: z.string().min(1),
      expire_time: z.string(),
      encrypt_certificate: z.object({
        algorithm: z.literal('AEAD_AES_256_GCM'),
        nonce: z.string(),
        associated_data: z.string(),
        ciphertext: z.string(),
      }),
    }),
  ),
});

function invalid(message: string): DomainError {
  return new DomainError('INVALID_SIGNATURE', `wechatpay notification: ${message}`);
}

/** Parses the trade bill exactly: detail rows between the header and the two summary lines. */
export function parseTradeBill(csv: string): StatementLine[] {
  const lines = csv.replace(/^\uFEFF/, '').split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  if (lines.length < 3) throw new Error('trade bill is too short');
  const header = lines[0]!.split(',');
  const summaryHeader = lines[lines.length - 2]!.split(',');
  const summaryRow = lines[lines.length - 1]!;
  const required = ['交易时间', '微信订单号', '商户订单号', '交易状态', '货币种类', '商户退款单号'];
  for (const column of [...required, '订单金额', '申请退款金额']) {
    if (!header.includes(column)) throw new Error(`trade bill has no column ${column}`);
  }
  for (const column of ['总交易单数', '订单总金额', '申请退款总金额'] as const) {
    if (!summaryHeader.includes(column)) throw new Error(`trade bill summary has no ${column}`);
  }
  /** Fields are "`value" joined by commas: split on ",`" so a comma inside a value survives. */
  const cells = (row: string, columns: string[]) => {
    if (!row.startsWith('`')) throw new Error(`trade bill row does not start with a backtick`);
    const values = row.slice(1).split(',`');
    if (values.length !== columns.length) {
      throw new Error(`trade bill row has ${values.length} fields, expected ${columns.length}`);
    }
    return (name: string) => values[columns.indexOf(name)]!;
  };

  const result: StatementLine[] = [];
  let paid = 0;
  let refunded = 0;
  const details = lines.slice(1, -2);
  for (const row of details) {
    const get = cells(row, header);
    if (get('货币种类') !== 'CNY') throw new Error(`trade bill currency ${get('货币种类')}`);
    const common = {
      outTradeNo: get('商户订单号'),
      channelTradeNo: get('微信订单号'),
      currency: 'CNY',
      at: parseChinaDateTime(get('交易时间')).toISOString(),
    };
    const state = get('交易状态');
    if (state === 'SUCCESS') {
      const amount = fromBillYuan(get('订单金额'));
      paid += amount;
      result.push({ kind: 'PAYMENT', amount, ...common });
    } else if (state === 'REFUND') {
      const amount = fromBillYuan(get('申请退款金额'));
      refunded += amount;
      result.push({ kind: 'REFUND', amount, refundNo: get('商户退款单号'), ...common });
    } else {
      throw new Error(`trade bill row has unexpected state ${state}`);
    }
  }
  const summary = cells(summaryRow, summaryHeader);
  if (
    Number(summary('总交易单数')) !== details.length ||
    fromBillYuan(summary('订单总金额')) !== paid ||
    fromBillYuan(summary('申请退款总金额')) !== refunded
  ) {
    throw new Error('trade bill summary does not add up to its rows');
  }
  return result;
}

export interface WechatpayAdapterOptions {
  timeoutMs: number;
  /** At most one platform certificate download per this interval (default 60 s). */
  certificateRefreshIntervalMs?: number;
}

export function createWechatpayAdapter(
  credentials: WechatpayCredentials,
  options: WechatpayAdapterOptions,
): ChannelAdapter {
  const base = credentials.baseUrl.replace(/\/+$/, '');
  const mchid = credentials.mchId;

  /** One signed request; answers status, headers and text, or throws when unreachable. */
  async function send(method: 'GET' | 'POST', url: string, payload?: object) {
    const body = payload === undefined ? '' : JSON.stringify(payload);
    const target = new URL(url);
    const headers: Record<string, string> = {
      accept: 'application/json',
      'user-agent': 'paycenter-wechatpay/1',
      authorization: authorization({
        mchId: mchid,
        serialNo: credentials.mchSerialNo,
        privateKey: credentials.mchPrivateKey,
        method,
        pathWithQuery: target.pathname + target.search,
        body,
        nowMs: Date.now(),
      }),
      ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
    };
    let response: Response;
    try {
      response = await fetch(target, {
        method,
        headers,
        ...(payload === undefined ? {} : { body }),
        signal: AbortSignal.timeout(options.timeoutMs),
      });
    } catch (err) {
      throw new ChannelUnavailableError(`wechatpay ${method} ${target.pathname}: ${errText(err)}`);
    }
    return response;
  }

  /**
   * The platform certificates in force, from the download API: each one opened with the APIv3 key
   * (which proves it came from WeChat Pay), the answer's own signature checked against them and
   * the ones we hold. Expired certificates are left out.
   */
  async function downloadCertificates(): Promise<ReadonlyMap<string, string>> {
    const response = await send('GET', `${base}${certificatesPath}`);
    const text = await response.text();
    if (!response.ok) {
      throw new ChannelUnavailableError(`wechatpay certificates: HTTP ${response.status}`);
    }
    const answer = certificatesSchema.parse(JSON.parse(text));
    const listed = new Map<string, string>();
    for (const certificate of answer.data) {
      if (!(Date.parse(certificate.expire_time) > Date.now())) continue;
      const { ciphertext, nonce, associated_data } = certificate.encrypt_certificate;
      const pem = decryptResource(ciphertext, credentials.apiV3Key, nonce, associated_data);
      listed.set(certificate.serial_no, publicKeyOfPem(pem));
    }
    const problem = checkSignedHeaders({
      headers: Object.fromEntries(response.headers),
      body: text,
      publicKeyOf: (serial) => listed.get(serial) ?? certificates.publicKeyOf(serial),
      nowMs: Date.now(),
    });
    if (problem) throw new ChannelUnavailableError(`wechatpay certificates: refused (${problem})`);
    return listed;
  }

  const certificates = new PlatformCertificates({
    seed: { serialNo: credentials.platformSerialNo, publicKey: credentials.platformPublicKey },
    download: downloadCertificates,
    minRefreshIntervalMs: options.certificateRefreshIntervalMs ?? 60_000,
  });

  /**
   * A signed API call whose answer must carry a good platform signature. Answers the parsed JSON
   * (undefined for 204), or `{ error }` for a business refusal (4xx with a code).
   */
  async function call(method: 'GET' | 'POST', path: string, payload?: object) {
    const response = await send(method, `${base}${path}`, payload);
    let text: string;
    try {
      text = await response.text();
    } catch (err) {
      throw new ChannelUnavailableError(`wechatpay ${path}: ${errText(err)}`);
    }
    const what = `wechatpay ${method} ${path.split('?')[0]}`;
    if (response.status >= 500) {
      throw new ChannelUnavailableError(`${what}: HTTP ${response.status} ${text.slice(0, 200)}`);
    }
    const headers = Object.fromEntries(response.headers);
    await certificates.learn(signedSerial(headers));
    const problem = checkSignedHeaders({
      headers,
      body: text,
      publicKeyOf: certificates.publicKeyOf,
      nowMs: Date.now(),
    });
    if (problem) {
      // An answer we cannot trust tells us nothing: treat it like no answer at all.
      throw new ChannelUnavailableError(`${what}: answer refused (${problem})`);
    }
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      throw new ChannelUnavailableError(`${what}: HTTP ${response.status}, body is not JSON`);
    }
    if (response.ok) return { ok: true as const, json };
    const error = errorSchema.safeParse(json);
    if (!error.success) {
      throw new ChannelUnavailableError(`${what}: HTTP ${response.status} ${text.slice(0, 200)}`);
    }
    // A rate limit is no refusal: nothing was done, and the same request may go again later.
    if (response.status === 429 || tryLaterCodes.includes(error.data.code)) {
      throw new ChannelUnavailableError(`${what}: HTTP ${response.status} ${error.data.code}`);
    }
    return {
      ok: false as const,
      status: response.status,
      code: error.data.code,
      message: error.data.message ?? '',
    };
  }

  function parse<T>(schema: z.ZodType<T>, json: unknown, what: string): T {
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      throw new ChannelUnavailableError(`wechatpay ${what}: unexpected answer`);
    }
    return parsed.data;
  }

  function factFrom(
    trade: z.infer<typeof transactionSchema>,
    source: ChannelFact['source'],
  ): ChannelFact {
    return {
      outTradeNo: trade.out_trade_no,
      status: toPayStatus(trade.trade_state),
      ...(trade.amount?.total !== undefined ? { amount: trade.amount.total } : {}),
      ...(trade.transaction_id ? { channelTradeNo: trade.transaction_id } : {}),
      source,
    };
  }

  const tradePath = (outTradeNo: string) =>
    `/v3/pay/transactions/out-trade-no/${encodeURIComponent(outTradeNo)}`;

  async function queryTransaction(outTradeNo: string) {
    const answer = await call('GET', `${tradePath(outTradeNo)}?mchid=${encodeURIComponent(mchid)}`);
    if (!answer.ok) return answer;
    return { ok: true as const, trade: parse(transactionSchema, answer.json, 'query') };
  }

  const adapter: ChannelAdapter = {
    name: 'wechatpay',
    // Native: a QR code any payer scans. JSAPI: paid inside WeChat by a known user (openid).
    methods: ['native', 'jsapi'],
    handOffs: { native: 'qr', jsapi: 'paySheet' },
    methodsNeedingPayer: ['jsapi'],
    currencies: ['CNY'],

    async createOrder(order: ChannelOrderRequest) {
      if (order.currency !== 'CNY') {
        throw new ChannelRejectedError('PARAM_ERROR', `wechatpay takes CNY, not ${order.currency}`);
      }
      if (order.method !== 'native' && order.method !== 'jsapi') {
        throw new ChannelRejectedError('PARAM_ERROR', `wechatpay method ${order.method}`);
      }
      const request: NativePrepayRequest = {
        appid: credentials.appId,
        mchid,
        description: [...order.subject].slice(0, 127).join(''),
        out_trade_no: order.outTradeNo,
        time_expire: timeExpire(order.expiresAt),
        notify_url: order.notifyUrl,
        amount: { total: toFen(order.amount), currency: 'CNY' },
      };
      if (order.method === 'jsapi') {
        if (!order.payerId)
          throw new ChannelRejectedError('PARAM_ERROR', 'jsapi needs payer.openid');
        const jsapi: JsapiPrepayRequest = { ...request, payer: { openid: order.payerId } };
        const answer = await call('POST', '/v3/pay/transactions/jsapi', jsapi);
        if (!answer.ok) throw new ChannelRejectedError(answer.code, answer.message);
        const { prepay_id } = parse(
          z.object({ prepay_id: z.string().min(1) }),
          answer.json,
          'jsapi',
        );
        return {
          payParams: jsapiPayParams(
            credentials.appId,
            prepay_id,
            credentials.mchPrivateKey,
            Date.now(),
          ),
        };
      }
      const answer = await call('POST', '/v3/pay/transactions/native', request);
      if (!answer.ok) throw new ChannelRejectedError(answer.code, answer.message);
      const { code_url } = parse(z.object({ code_url: z.string().min(1) }), answer.json, 'native');
      return { payUrl: code_url };
    },

    async queryOrder(outTradeNo) {
      const answer = await queryTransaction(outTradeNo);
      if (answer.ok) return factFrom(answer.trade, 'query');
      if (answer.code === 'ORDER_NOT_EXIST' || answer.code === 'ORDERNOTEXIST') {
        return { outTradeNo, status: 'NOT_FOUND', source: 'query' };
      }
      throw new ChannelRejectedError(answer.code, answer.message);
    },

    async closeOrder(outTradeNo) {
      const answer = await call('POST', `${tradePath(outTradeNo)}/close`, { mchid });
      if (answer.ok) return { kind: 'closed' };
      switch (answer.code) {
        case 'ORDER_CLOSED':
        case 'ORDERCLOSED':
        case 'ORDER_NOT_EXIST':
        case 'ORDERNOTEXIST':
          return { kind: 'closed' };
        case 'ORDERPAID':
          // The payer got there first: the close failing is the news that the order is paid.
          return { kind: 'alreadyPaid', fact: await adapter.queryOrder(outTradeNo) };
        default:
          throw new ChannelRejectedError(answer.code, answer.message);
      }
    },

    async refund({ outTradeNo, refundNo, amount }) {
      // A refund names the order's total as well: ask the channel what it is.
      const trade = await queryTransaction(outTradeNo);
      if (!trade.ok) throw new ChannelRejectedError(trade.code, trade.message);
      const total = trade.trade.amount?.total;
      if (total === undefined) {
        throw new ChannelUnavailableError(`wechatpay query ${outTradeNo}: no amount.total`);
      }
      const request: RefundRequest = {
        out_trade_no: outTradeNo,
        out_refund_no: refundNo,
        amount: { refund: toFen(amount), total, currency: 'CNY' },
      };
      const answer = await call('POST', '/v3/refund/domestic/refunds', request);
      if (!answer.ok) throw new ChannelRejectedError(answer.code, answer.message);
      return toRefundStatus(parse(refundSchema, answer.json, 'refund').status);
    },

    async queryRefund(_outTradeNo, refundNo) {
      const answer = await call(
        'GET',
        `/v3/refund/domestic/refunds/${encodeURIComponent(refundNo)}`,
      );
      if (!answer.ok) {
        // A refund the channel never received has not happened: it is not a success.
        if (answer.code === 'RESOURCE_NOT_EXISTS') return 'FAILED';
        throw new ChannelRejectedError(answer.code, answer.message);
      }
      return toRefundStatus(parse(refundSchema, answer.json, 'refund query').status);
    },

    // The bill is checked whole (its SHA-1, its summary rows) before any line is handed on.
    async *fetchStatement(day, record) {
      if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) throw new RangeError(`"${day}" is not yyyy-MM-dd`);
      const answer = await call(
        'GET',
        `/v3/bill/tradebill?bill_date=${day}&bill_type=ALL&tar_type=GZIP`,
      );
      if (!answer.ok) {
        // "No bill": nothing was paid or refunded that day.
        if (answer.code === 'NO_STATEMENT_EXIST') return;
        if (answer.code === 'STATEMENT_CREATING') {
          throw new ChannelUnavailableError(`wechatpay bill ${day}: still being made`);
        }
        throw new ChannelRejectedError(answer.code, answer.message);
      }
      const bill = parse(billSchema, answer.json, 'tradebill');
      // The download answer is not signed (WeChat Pay says so); the signed hash vouches for it.
      const response = await send('GET', bill.download_url);
      const raw = Buffer.from(await response.arrayBuffer());
      if (!response.ok) {
        throw new ChannelUnavailableError(`wechatpay bill ${day}: HTTP ${response.status}`);
      }
      await record(raw);
      let csv: Buffer;
      try {
        csv = gunzipSync(raw);
      } catch (err) {
        throw new ChannelUnavailableError(`wechatpay bill ${day}: not gzip (${errText(err)})`);
      }
      const sha1 = createHash('sha1').update(csv).digest('hex');
      if (sha1 !== bill.hash_value.toLowerCase()) {
        throw new ChannelUnavailableError(`wechatpay bill ${day}: SHA1 does not match hash_value`);
      }
      let lines: StatementLine[];
      try {
        lines = parseTradeBill(csv.toString('utf8'));
      } catch (err) {
        throw new ChannelUnavailableError(`wechatpay bill ${day}: ${errText(err)}`);
      }
      yield* inBatches(lines);
    },

    // A notification signed by a certificate we do not hold yet (WeChat Pay rotated it): download
    // the certificates once, within the refresh limits, before the signature is checked.
    prepareVerification: ({ headers }) => certificates.learn(signedSerial(headers)),

    verifyNotification({ headers, rawBody }) {
      // The signature first: nothing of a forgery is parsed, let alone decrypted.
      const problem = checkSignedHeaders({
        headers,
        body: rawBody,
        publicKeyOf: certificates.publicKeyOf,
        nowMs: Date.now(),
      });
      if (problem) throw invalid(problem);
      let envelope: z.infer<typeof notificationSchema>;
      try {
        envelope = notificationSchema.parse(JSON.parse(rawBody));
      } catch {
        throw new DomainError('VALIDATION_FAILED', 'wechatpay notification is malformed');
      }
      if (!envelope.event_type.startsWith('TRANSACTION.')) {
        throw new DomainError('VALIDATION_FAILED', `wechatpay event ${envelope.event_type}`);
      }
      const { ciphertext, nonce, associated_data } = envelope.resource;
      let plaintext: string;
      try {
        plaintext = decryptResource(ciphertext, credentials.apiV3Key, nonce, associated_data);
      } catch {
        // Signed by the platform yet not sealed with our APIv3 key: not for us, or tampered.
        throw invalid('resource does not decrypt with the APIv3 key');
      }
      let trade: z.infer<typeof transactionSchema>;
      try {
        trade = transactionSchema.parse(JSON.parse(plaintext));
      } catch {
        throw new DomainError('VALIDATION_FAILED', 'wechatpay notification resource is malformed');
      }
      return { dedupeKey: envelope.id, fact: factFrom(trade, 'notify') };
    },

    notificationHeaders: Object.values(wechatpayHeaders),

    replies: {
      accepted: { status: 204, contentType: 'application/json', body: '' },
      rejected: {
        status: 500,
        contentType: 'application/json',
        body: JSON.stringify({ code: 'FAIL', message: '失败' }),
      },
    },
  };
  return adapter;
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
