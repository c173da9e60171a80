// paycenter's adapter for bank-card quick pay (UnionPay ACP 5.1-like back-end transactions):
// form-encoded requests signed with our certificate, answers and notifications verified against the
// platform's before anything in them is read. The card is charged at once, so createOrder answers the
// payment's outcome (ChannelOrderCreated.outcome).
import { inflateSync } from 'node:zlib';
import { DomainError } from '../../domain/errors';
import type { ChannelFact } from '../../domain/payOrder';
import type { BankcardCredentials } from '../credentials';
import {
  ChannelRejectedError,
  ChannelUnavailableError,
  type ChannelAdapter,
  type ChannelOrderCreated,
  type ChannelRefundStatus,
  type StatementLine,
} from '../types';
import { inBatches } from '../statements';
import {
  acpEncoding,
  acpVersion,
  bankcardPaths,
  classifyRespCode,
  cnyCode,
  decodeForm,
  encodeForm,
  formatAcpTime,
  formatTxnAmt,
  fromAcpOrderId,
  parseAcpTime,
  parseStatementLine,
  parseTxnAmt,
  quickPayBizType,
  signFields,
  toAcpOrderId,
  txnTypes,
  verifyFields,
  type AcpFields,
} from './protocol';

/** A transaction's status from its respCode (query: origRespCode), in one exhaustive switch. */
export function toPayStatus(respCode: string): 'SUCCEEDED' | 'PENDING' | 'CLOSED' {
  const kind = classifyRespCode(respCode);
  switch (kind) {
    case 'success':
      return 'SUCCEEDED';
    case 'processing':
      return 'PENDING';
    case 'declined':
    case 'refused':
    case 'busy':
    case 'notFound':
    case 'duplicate':
      return 'CLOSED';
    default: {
      const never: never = kind;
      throw new Error(`unhandled respCode class ${String(never)}`);
    }
  }
}

export function toRefundStatus(origRespCode: string): ChannelRefundStatus {
  const status = toPayStatus(origRespCode);
  switch (status) {
    case 'SUCCEEDED':
      return 'SUCCEEDED';
    case 'PENDING':
      return 'PROCESSING';
    case 'CLOSED':
      return 'FAILED';
  }
}

export interface BankcardAdapterOptions {
  timeoutMs: number;
}

export function createBankcardAdapter(
  credentials: BankcardCredentials,
  options: BankcardAdapterOptions,
): ChannelAdapter {
  const base = credentials.gatewayUrl.replace(/\/+$/, '');

  function common(txnType: string, txnSubType: string, bizType: string): AcpFields {
    return {
      version: acpVersion,
      encoding: acpEncoding,
      txnType,
      txnSubType,
      bizType,
      accessType: '0',
      channelType: '07',
      merId: credentials.merId,
      txnTime: formatAcpTime(new Date()),
    };
  }

  /**
   * POSTs a signed request and answers the verified answer. Anything but a verified answer from the
   * platform about this very request (no answer, 5xx, a forgery, another merchant's or order's
   * answer) is ChannelUnavailableError: we cannot know what happened.
   */
  async function call(path: string, fields: AcpFields): Promise<AcpFields> {
    const signed = signFields(fields, credentials.signPrivateKey, credentials.signCertId);
    let response: Response;
    let text: string;
    try {
      response = await fetch(base + path, {
        method: 'POST',
        headers: { 'content-type': `application/x-www-form-urlencoded;charset=${acpEncoding}` },
        body: encodeForm(signed),
        signal: AbortSignal.timeout(options.timeoutMs),
      });
      text = await response.text();
    } catch (err) {
      throw new ChannelUnavailableError(`bankcard ${path}: ${(err as Error).message}`);
    }
    if (response.status !== 200) {
      throw new ChannelUnavailableError(`bankcard ${path}: HTTP ${response.status}`);
    }
    const answer = decodeForm(text);
    if (!answer || !verifyFields(answer, credentials.verifyPublicKey, credentials.verifyCertId)) {
      throw new ChannelUnavailableError(`bankcard ${path}: answer signature is missing or wrong`);
    }
    if (answer.merId !== undefined && answer.merId !== credentials.merId) {
      throw new ChannelUnavailableError(`bankcard ${path}: answer for another merchant`);
    }
    if (answer.orderId !== undefined && answer.orderId !== fields.orderId) {
      throw new ChannelUnavailableError(`bankcard ${path}: answer for another order`);
    }
    if (answer.respCode === undefined) {
      throw new ChannelUnavailableError(`bankcard ${path}: answer has no respCode`);
    }
    return answer;
  }

  function rejected(answer: AcpFields): ChannelRejectedError {
    return new ChannelRejectedError(answer.respCode!, answer.respMsg ?? '');
  }

  function acpId(id: string): string {
    try {
      return toAcpOrderId(id);
    } catch (err) {
      throw new ChannelRejectedError('INVALID_REQUEST', (err as Error).message);
    }
  }

  function amountOf(answer: AcpFields): number | undefined {
    return answer.txnAmt === undefined ? undefined : parseTxnAmt(answer.txnAmt);
  }

  /** txnType 00 for one of our orderIds: the verified answer, or undefined for "no such". */
  async function query(orderId: string): Promise<AcpFields | undefined> {
    const answer = await call(bankcardPaths.query, {
      ...common(txnTypes.query, '00', '000000'),
      orderId,
    });
    const kind = classifyRespCode(answer.respCode!);
    switch (kind) {
      case 'success':
        if (answer.origRespCode === undefined) {
          throw new ChannelUnavailableError(`bankcard query ${orderId}: no origRespCode`);
        }
        return answer;
      case 'notFound':
        return undefined;
      case 'processing':
      case 'busy':
        throw new ChannelUnavailableError(`bankcard query ${orderId}: ${answer.respCode}`);
      case 'declined':
      case 'refused':
      case 'duplicate':
        throw rejected(answer);
    }
  }

  async function queryOrder(outTradeNo: string): Promise<ChannelFact> {
    const answer = await query(acpId(outTradeNo));
    if (!answer) return { outTradeNo, status: 'NOT_FOUND', source: 'query' };
    const amount = amountOf(answer);
    const status = toPayStatus(answer.origRespCode!);
    return {
      outTradeNo,
      status,
      ...(status === 'CLOSED' ? { declineCode: answer.origRespCode! } : {}),
      ...(amount !== undefined ? { amount } : {}),
      ...(answer.queryId ? { channelTradeNo: answer.queryId } : {}),
      source: 'query',
    };
  }

  return {
    name: 'bankcard',
    methods: ['quick'],
    handOffs: { quick: 'direct' },
    currencies: ['CNY'],

    async createOrder(order): Promise<ChannelOrderCreated> {
      if (order.currency !== 'CNY') {
        throw new ChannelRejectedError('UNSUPPORTED_CURRENCY', 'bank-card quick pay is CNY only');
      }
      if (order.method !== 'quick') {
        throw new ChannelRejectedError('UNSUPPORTED_METHOD', `no method ${order.method}`);
      }
      let txnAmt: string;
      try {
        txnAmt = formatTxnAmt(order.amount);
      } catch (err) {
        throw new ChannelRejectedError('INVALID_AMOUNT', (err as Error).message);
      }
      const orderId = acpId(order.outTradeNo);
      const answer = await call(bankcardPaths.back, {
        ...common(txnTypes.consume, '01', quickPayBizType),
        orderId,
        txnAmt,
        currencyCode: cnyCode,
        backUrl: order.notifyUrl,
        payTimeout: formatAcpTime(new Date(order.expiresAt)),
        orderDesc: order.subject,
      });
      const fact = (status: ChannelFact['status']): ChannelFact => ({
        outTradeNo: order.outTradeNo,
        status,
        ...(status === 'CLOSED' ? { declineCode: answer.respCode! } : {}),
        amount: amountOf(answer) ?? order.amount,
        ...(answer.queryId ? { channelTradeNo: answer.queryId } : {}),
        source: 'query',
      });
      const kind = classifyRespCode(answer.respCode!);
      switch (kind) {
        case 'success':
          return { channelTradeNo: answer.queryId, outcome: fact('SUCCEEDED') };
        case 'processing':
          return {
            ...(answer.queryId ? { channelTradeNo: answer.queryId } : {}),
            outcome: fact('PENDING'),
          };
        case 'declined':
          return {
            ...(answer.queryId ? { channelTradeNo: answer.queryId } : {}),
            outcome: fact('CLOSED'),
          };
        case 'duplicate': {
          // The orderId was used already (a retried create): the channel's own record answers.
          const known = await queryOrder(order.outTradeNo);
          return {
            ...(known.channelTradeNo ? { channelTradeNo: known.channelTradeNo } : {}),
            outcome: known,
          };
        }
        case 'busy':
          throw new ChannelUnavailableError(
            `bankcard consume: ${answer.respCode} ${answer.respMsg ?? ''}`,
          );
        case 'refused':
        case 'notFound':
          throw rejected(answer);
      }
    },

    queryOrder,

    async closeOrder(outTradeNo) {
      // Quick pay has no "close": an order not charged yet is cancelled (txnType 31 against its
      // queryId), one already charged cannot be, and that is the news that it is paid.
      const before = await queryOrder(outTradeNo);
      switch (before.status) {
        case 'NOT_FOUND':
        case 'CLOSED':
          return { kind: 'closed' };
        case 'SUCCEEDED':
          return { kind: 'alreadyPaid', fact: { ...before, source: 'close' } };
        case 'PENDING':
          break;
      }
      if (!before.channelTradeNo) {
        throw new ChannelUnavailableError(`bankcard close ${outTradeNo}: no queryId to cancel`);
      }
      const answer = await call(bankcardPaths.back, {
        ...common(txnTypes.cancel, '00', quickPayBizType),
        orderId: `${acpId(outTradeNo)}C`.slice(-40),
        origQryId: before.channelTradeNo,
        txnAmt: formatTxnAmt(before.amount!),
        currencyCode: cnyCode,
      });
      if (answer.respCode === '00') return { kind: 'closed' };
      if (classifyRespCode(answer.respCode!) === 'notFound') {
        // Not cancellable any more: the card was charged meanwhile, or the order closed itself.
        const after = await queryOrder(outTradeNo);
        if (after.status === 'SUCCEEDED') {
          return { kind: 'alreadyPaid', fact: { ...after, source: 'close' } };
        }
        if (after.status === 'CLOSED' || after.status === 'NOT_FOUND') return { kind: 'closed' };
        throw new ChannelUnavailableError(`bankcard close ${outTradeNo}: still processing`);
      }
      if (classifyRespCode(answer.respCode!) === 'refused') throw rejected(answer);
      throw new ChannelUnavailableError(`bankcard close ${outTradeNo}: ${answer.respCode}`);
    },

    async refund({ outTradeNo, refundNo, amount }) {
      let txnAmt: string;
      try {
        txnAmt = formatTxnAmt(amount);
      } catch (err) {
        throw new ChannelRejectedError('INVALID_AMOUNT', (err as Error).message);
      }
      // A refund (退货, txnType 04) names the consume by its queryId: learn it first.
      const paid = await queryOrder(outTradeNo);
      if (paid.status !== 'SUCCEEDED' || !paid.channelTradeNo) {
        throw new ChannelRejectedError('35', `order ${outTradeNo} is ${paid.status}, not paid`);
      }
      const answer = await call(bankcardPaths.back, {
        ...common(txnTypes.refund, '00', quickPayBizType),
        orderId: acpId(refundNo),
        origQryId: paid.channelTradeNo,
        txnAmt,
        currencyCode: cnyCode,
      });
      const kind = classifyRespCode(answer.respCode!);
      switch (kind) {
        case 'success':
        case 'processing':
          // ACP answers a refund's 00 on acceptance; its result is learnt by query.
          return 'PROCESSING';
        case 'duplicate':
          return this.queryRefund(outTradeNo, refundNo);
        case 'busy':
          throw new ChannelUnavailableError(`bankcard refund: ${answer.respCode}`);
        case 'declined':
        case 'refused':
        case 'notFound':
          throw rejected(answer);
      }
    },

    async queryRefund(_outTradeNo, refundNo) {
      const answer = await query(acpId(refundNo));
      // A refund the channel never received has not happened: it is not a success.
      if (!answer) return 'FAILED';
      return toRefundStatus(answer.origRespCode!);
    },

    // The file comes inside the answer (fileContent), so it is whole in memory by the protocol.
    async *fetchStatement(day, record) {
      const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
      if (!match) throw new RangeError(`"${day}" is not yyyy-MM-dd`);
      const answer = await call(bankcardPaths.file, {
        ...common(txnTypes.file, '01', '000000'),
        settleDate: `${match[2]}${match[3]}`,
        fileType: '00',
      });
      if (answer.respCode === '98') return; // no file: no trades
      if (answer.respCode !== '00') {
        throw new ChannelUnavailableError(`bankcard statement ${day}: ${answer.respCode}`);
      }
      let raw: Buffer;
      try {
        raw = inflateSync(Buffer.from(answer.fileContent ?? '', 'base64'));
      } catch (err) {
        throw new ChannelUnavailableError(`bankcard statement ${day}: ${(err as Error).message}`);
      }
      const lines: StatementLine[] = [];
      for (const text of raw.toString('utf8').split(/\r?\n/)) {
        if (text.trim() === '') continue;
        const r = parseStatementLine(text);
        const common = {
          amount: parseTxnAmt(r.txnAmt.replace(/^0+/, '')),
          currency: r.currencyCode === cnyCode ? 'CNY' : r.currencyCode,
          at: parseAcpTime(r.txnTime).toISOString(),
        };
        if (r.txnType === txnTypes.consume) {
          lines.push({
            kind: 'PAYMENT',
            outTradeNo: fromAcpOrderId(r.orderId),
            channelTradeNo: r.queryId,
            ...common,
          });
        } else if (r.txnType === txnTypes.refund) {
          lines.push({
            kind: 'REFUND',
            outTradeNo: fromAcpOrderId(r.origOrderId),
            channelTradeNo: r.origQryId,
            refundNo: fromAcpOrderId(r.orderId),
            ...common,
          });
        } else {
          throw new ChannelUnavailableError(`bankcard statement ${day}: txnType ${r.txnType}`);
        }
      }
      await record(raw);
      yield* inBatches(lines);
    },

    verifyNotification({ rawBody }) {
      const fields = decodeForm(rawBody);
      if (!fields || !verifyFields(fields, credentials.verifyPublicKey, credentials.verifyCertId)) {
        throw new DomainError(
          'INVALID_SIGNATURE',
          'bankcard notification signature is missing or wrong',
        );
      }
      const problems: { field: string; message: string }[] = [];
      const need = (field: string, test: (v: string) => boolean, message: string) => {
        const value = fields[field];
        if (value === undefined || !test(value)) problems.push({ field, message });
      };
      need('merId', (v) => v === credentials.merId, 'must be our merId');
      need('txnType', (v) => v === txnTypes.consume, 'must be 01 (consume)');
      need('orderId', (v) => /^[0-9A-Za-z]{8,40}$/.test(v), 'must be an ACP orderId');
      need('queryId', (v) => v.length > 0, 'is required');
      need('respCode', (v) => /^[0-9A-Z]{2}$/.test(v), 'is required');
      need('txnAmt', (v) => /^[1-9]\d{0,11}$/.test(v), 'must be fen');
      need('currencyCode', (v) => v === cnyCode, 'must be 156');
      if (problems.length > 0) {
        throw new DomainError('VALIDATION_FAILED', 'bankcard notification is malformed', problems);
      }
      return {
        // ACP has no notification id: a transaction's result is notified again and again alike.
        dedupeKey: `${fields.queryId}:${fields.respCode}`,
        fact: {
          outTradeNo: fromAcpOrderId(fields.orderId!),
          status: toPayStatus(fields.respCode!),
          amount: parseTxnAmt(fields.txnAmt),
          channelTradeNo: fields.queryId!,
          source: 'notify',
        },
      };
    },

    // The signature travels in the form body.
    notificationHeaders: [],

    replies: {
      accepted: { status: 200, contentType: 'text/plain', body: 'ok' },
      rejected: { status: 500, contentType: 'text/plain', body: 'fail' },
    },
  };
}
