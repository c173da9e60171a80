// The bank-card channel's wire protocol (UnionPay ACP 5.1-like), shared by our adapter and the
// simulator's face: form-encoded messages, each signed with signMethod 01 (RSA-SHA256 over the
// SHA-256 hex digest of the sorted "k=v&..." string without `signature`), the signer's certId in
// the message.
import { createHash, createSign, createVerify } from 'node:crypto';

export const acpVersion = '5.1.0';
export const acpEncoding = 'UTF-8';
export const acpSignMethod = '01';
/** ISO 4217 numeric code of CNY: the only currency the channel speaks. */
export const cnyCode = '156';

/** txnType: 00 query, 01 consume, 04 refund (退货), 31 consume undo (here: cancel before charge), 76 file. */
export const txnTypes = {
  query: '00',
  consume: '01',
  refund: '04',
  cancel: '31',
  file: '76',
} as const;

/** Bank-card quick pay (认证支付) business type. */
export const quickPayBizType = '000301';

/** The channel's back-end transaction paths (ACP: backTransReq.do, queryTrans.do, fileTransfer.do). */
export const bankcardPaths = {
  back: '/gateway/api/backTransReq.do',
  query: '/gateway/api/queryTrans.do',
  file: '/gateway/api/fileTransfer.do',
} as const;

export type AcpFields = Record<string, string>;

/** "k1=v1&k2=v2..." over every field but `signature`, keys in ASCII order, values as they are. */
export function signingString(fields: AcpFields): string {
  return Object.keys(fields)
    .filter((key) => key !== 'signature')
    .sort()
    .map((key) => `${key}=${fields[key]}`)
    .join('&');
}

/** ACP 5.1 signMethod 01: base64(RSA-SHA256(hex(SHA-256(signingString)))). */
export function signFields(fields: AcpFields, privateKey: string, certId: string): AcpFields {
  const unsigned: AcpFields = { ...fields, certId, signMethod: acpSignMethod };
  delete unsigned.signature;
  const digest = createHash('sha256').update(signingString(unsigned), 'utf8').digest('hex');
  const signature = createSign('RSA-SHA256').update(digest, 'utf8').sign(privateKey, 'base64');
  return { ...unsigned, signature };
}

/**
 * True only for a message signed by the holder of `publicKey` whose certId is `certId` (a message
 * that names another certificate is refused before any cryptography).
 */
export function verifyFields(fields: AcpFields, publicKey: string, certId: string): boolean {
  const signature = fields.signature;
  if (!signature || fields.certId !== certId || fields.signMethod !== acpSignMethod) return false;
  const digest = createHash('sha256').update(signingString(fields), 'utf8').digest('hex');
  try {
    return createVerify('RSA-SHA256').update(digest, 'utf8').verify(publicKey, signature, 'base64');
  } catch {
    return false;
  }
}

export function encodeForm(fields: AcpFields): string {
  return new URLSearchParams(fields).toString();
}

/** Parses a form body; a key given twice is refused (it would make the signed string ambiguous). */
export function decodeForm(body: string): AcpFields | undefined {
  const fields: AcpFields = {};
  for (const [key, value] of new URLSearchParams(body)) {
    if (Object.hasOwn(fields, key)) return undefined;
    fields[key] = value;
  }
  return fields;
}

const offsetMs = 8 * 3600 * 1000;

/** yyyyMMddHHmmss in Beijing time (txnTime, payTimeout, traceTime's long form). */
export function formatAcpTime(date: Date): string {
  return new Date(date.getTime() + offsetMs).toISOString().slice(0, 19).replace(/[-T:]/g, '');
}

export function parseAcpTime(text: string): Date {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(text);
  if (!m) throw new RangeError(`"${text}" is not yyyyMMddHHmmss`);
  const date = new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}+08:00`);
  if (Number.isNaN(date.getTime())) throw new RangeError(`"${text}" is not a time`);
  return date;
}

/** txnAmt: fen as a plain integer string, no sign, no leading zeros, at least 1. */
export function formatTxnAmt(amount: number): string {
  if (!Number.isSafeInteger(amount) || amount <= 0) {
    throw new RangeError(`${amount} is not a positive whole number of fen`);
  }
  return String(amount);
}

export function parseTxnAmt(text: string | undefined): number {
  if (text === undefined || !/^[1-9]\d{0,11}$/.test(text)) {
    throw new RangeError(`"${text}" is not a txnAmt in fen`);
  }
  return Number(text);
}

/**
 * ACP orderIds are 8-40 letters and digits. Our IDs with a lower-case prefix ("rf_01J...") drop the
 * underscore ("rf01J..."); the reverse puts it back. IDs that are already plain pass unchanged.
 */
export function toAcpOrderId(id: string): string {
  const prefixed = /^([a-z]+)_([0-9A-Z]+)$/.exec(id);
  const acp = prefixed ? `${prefixed[1]}${prefixed[2]}` : id;
  if (!/^[0-9A-Za-z]{8,40}$/.test(acp)) throw new RangeError(`"${id}" cannot be an ACP orderId`);
  return acp;
}

export function fromAcpOrderId(orderId: string): string {
  const prefixed = /^([a-z]+)([0-9A-Z]+)$/.exec(orderId);
  return prefixed ? `${prefixed[1]}_${prefixed[2]}` : orderId;
}

/**
 * What an ACP respCode (or a query's origRespCode) says about a transaction, in one exhaustive
 * classification (ACP 5.1 appendix, 应答码):
 * - success: 00 (and A6, "success with defects", which is money moved).
 * - processing: 03 timeout / 04 status unknown / 05 accepted: ask again later; also 42, 74, 75,
 *   83 (debited but late / posting unknown / issuer still processing): money may have moved.
 * - declined: the card or the payer failed (01, 30, 33, 38, 60-73, 76-82, 84 and unknown codes).
 * - refused: the request itself was wrong or not allowed (10-14, 31, 32, 36, 37, 39-41, 43, 44, 47).
 * - busy: 02 system closed / 06 busy: nothing was done, try again.
 * - notFound: 34 no such transaction, 35 original transaction missing or in the wrong state.
 * - duplicate: 12 the orderId was used already.
 */
export type RespClass =
  'success' | 'processing' | 'declined' | 'refused' | 'busy' | 'notFound' | 'duplicate';

export function classifyRespCode(code: string): RespClass {
  switch (code) {
    case '00':
    case 'A6':
      return 'success';
    case '03':
    case '04':
    case '05':
    case '42':
    case '74':
    case '75':
    case '83':
      return 'processing';
    case '02':
    case '06':
      return 'busy';
    case '12':
      return 'duplicate';
    case '34':
    case '35':
      return 'notFound';
    case '10':
    case '11':
    case '13':
    case '14':
    case '31':
    case '32':
    case '36':
    case '37':
    case '39':
    case '40':
    case '41':
    case '43':
    case '44':
    case '45':
    case '46':
    case '47':
    case '98':
    case '99':
      return 'refused';
    default:
      // 01 failed, 30 not approved, 33 over limit, 38 risk, 60-84 issuer/card declines, and any
      // code we do not know: the charge did not happen.
      return 'declined';
  }
}

/** The decline the simulator answers by default: 64, 卡上的余额不足 (insufficient balance). */
export const insufficientBalance = { code: '64', msg: '卡上的余额不足' } as const;

export const respMessages: Record<string, string> = {
  '00': '成功[0000000]',
  '01': '交易失败。详情请咨询95516',
  '03': '交易通讯超时，请发起查询交易',
  '04': '交易状态未明，请查询对账结果',
  '05': '交易已受理，请稍后查询交易结果',
  '06': '系统繁忙，请稍后再试',
  '10': '报文格式错误',
  '11': '验证签名失败',
  '12': '重复交易',
  '13': '报文交易要素缺失',
  '34': '查无此交易',
  '35': '原交易不存在或状态不正确',
  '36': '与原交易信息不符',
  '46': '交易已被成功退货或者退货金额超限',
  '61': '输入的卡号无效，请确认后输入',
  '63': '卡状态不正确',
  '64': '卡上的余额不足',
  '65': '输入的密码、有效期或CVN2有误，交易失败',
  '98': '文件不存在',
};

/**
 * The daily statement (对账文件) is fixed-width text, one settled transaction a line, fields
 * separated by one space, amounts in fen zero-padded: [name, width] in order.
 */
export const statementColumns = [
  ['txnType', 2],
  ['orderId', 40],
  ['queryId', 21],
  ['origOrderId', 40],
  ['origQryId', 21],
  ['txnAmt', 12],
  ['currencyCode', 3],
  ['txnTime', 14],
] as const;

export type StatementRecord = Record<(typeof statementColumns)[number][0], string>;

export function formatStatementLine(record: StatementRecord): string {
  return statementColumns
    .map(([name, width]) => {
      const value = record[name];
      if (value.length > width) throw new RangeError(`${name} "${value}" is wider than ${width}`);
      return name === 'txnAmt' ? value.padStart(width, '0') : value.padEnd(width, ' ');
    })
    .join(' ');
}

export const statementLineWidth =
  statementColumns.reduce((sum, [, width]) => sum + width, 0) + statementColumns.length - 1;

export function parseStatementLine(line: string): StatementRecord {
  if (line.length !== statementLineWidth) {
    throw new RangeError(`statement line is ${line.length} wide, not ${statementLineWidth}`);
  }
  const record = {} as StatementRecord;
  let at = 0;
  for (const [name, width] of statementColumns) {
    record[name] = line.slice(at, at + width).trim();
    at += width + 1;
  }
  return record;
}
