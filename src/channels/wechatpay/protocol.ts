// WeChat Pay API v3's wire protocol, shared by our adapter and the simulator's face that stands in
// for WeChat Pay: RSA-SHA256 signatures over line-feed joined messages, AEAD_AES_256_GCM resources,
// the trade and refund states, and the trade bill's layout.
import {
  createCipheriv,
  createDecipheriv,
  createSign,
  createVerify,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';
import { formatMinorUnits, parseMajorUnits } from '../../domain/money';

export const authorizationScheme = 'WECHATPAY2-SHA256-RSA2048';

/** The headers WeChat Pay signs its answers and notifications with (lower case, as node delivers). */
export const wechatpayHeaders = {
  timestamp: 'wechatpay-timestamp',
  nonce: 'wechatpay-nonce',
  signature: 'wechatpay-signature',
  serial: 'wechatpay-serial',
  signatureType: 'wechatpay-signature-type',
} as const;

/** Signed messages older (or newer) than this are refused: replays. */
export const timestampToleranceSeconds = 5 * 60;

/**
 * Error codes that refuse nothing for good: the request was not handled and the same one may be sent
 * again later (HTTP 429 FREQUENCY_LIMITED, 频率超限; SYSTEM_ERROR, 系统错误).
 */
export const tryLaterCodes: readonly string[] = ['FREQUENCY_LIMITED', 'SYSTEM_ERROR'];

/** Every trade_state v3 answers (query and notification). */
export type WechatpayTradeState =
  'SUCCESS' | 'REFUND' | 'NOTPAY' | 'CLOSED' | 'REVOKED' | 'USERPAYING' | 'PAYERROR';
export const tradeStates = [
  'SUCCESS',
  'REFUND',
  'NOTPAY',
  'CLOSED',
  'REVOKED',
  'USERPAYING',
  'PAYERROR',
] as const satisfies readonly WechatpayTradeState[];

/** Every refund status v3 answers. */
export type WechatpayRefundStatus = 'SUCCESS' | 'CLOSED' | 'PROCESSING' | 'ABNORMAL';
export const refundStatuses = [
  'SUCCESS',
  'CLOSED',
  'PROCESSING',
  'ABNORMAL',
] as const satisfies readonly WechatpayRefundStatus[];

/** POST /v3/pay/transactions/native */
export interface NativePrepayRequest {
  appid: string;
  mchid: string;
  description: string;
  out_trade_no: string;
  /** RFC 3339, e.g. 2026-11-25T20:30:00+08:00 */
  time_expire: string;
  notify_url: string;
  amount: { total: number; currency: 'CNY' };
}

/** JSAPI prepay: the same order, paid by a known WeChat user. */
export interface JsapiPrepayRequest extends NativePrepayRequest {
  payer: { openid: string };
}

/**
 * The parameters the payer's page hands to WeixinJSBridge `getBrandWCPayRequest`, signed with
 * the merchant key over "appId\ntimeStamp\nnonceStr\npackage\n".
 */
export function jsapiPayParams(
  appId: string,
  prepayId: string,
  merchantPrivateKey: string,
  nowMs: number,
): Record<string, string> {
  const timeStamp = String(Math.floor(nowMs / 1000));
  const nonceStr = nonce();
  const pkg = `prepay_id=${prepayId}`;
  const paySign = rsaSign(joinedByLineFeed(appId, timeStamp, nonceStr, pkg), merchantPrivateKey);
  return { appId, timeStamp, nonceStr, package: pkg, signType: 'RSA', paySign };
}

/** A transaction as the query answers it and as a notification's resource carries it. */
export interface WechatpayTransaction {
  appid: string;
  mchid: string;
  out_trade_no: string;
  transaction_id?: string;
  trade_type?: string;
  trade_state: WechatpayTradeState;
  trade_state_desc: string;
  bank_type?: string;
  attach?: string;
  success_time?: string;
  payer?: { openid: string };
  amount?: { total: number; payer_total?: number; currency: string; payer_currency?: string };
}

/** POST /v3/refund/domestic/refunds */
export interface RefundRequest {
  out_trade_no: string;
  out_refund_no: string;
  reason?: string;
  notify_url?: string;
  amount: { refund: number; total: number; currency: 'CNY' };
}

export interface WechatpayRefund {
  refund_id: string;
  out_refund_no: string;
  transaction_id: string;
  out_trade_no: string;
  channel: string;
  user_received_account: string;
  success_time?: string;
  create_time: string;
  status: WechatpayRefundStatus;
  funds_account?: string;
  amount: {
    total: number;
    refund: number;
    payer_total: number;
    payer_refund: number;
    settlement_refund: number;
    settlement_total: number;
    discount_refund: number;
    currency: string;
  };
}

/** A notification's envelope; `resource` is the encrypted transaction. */
export interface WechatpayNotification {
  id: string;
  create_time: string;
  event_type: string;
  resource_type: 'encrypt-resource';
  summary: string;
  resource: EncryptedResource;
}

export interface EncryptedResource {
  algorithm: 'AEAD_AES_256_GCM';
  ciphertext: string;
  nonce: string;
  associated_data: string;
  original_type: string;
}

/** A bill's amount cell: yuan with two decimals ("0.01"). */
export function toBillYuan(fen: number): string {
  return formatMinorUnits(fen, 'CNY');
}

/** A bill's amount cell to fen, exactly; throws RangeError on anything else. */
export function fromBillYuan(text: string): number {
  return parseMajorUnits(text, 'CNY');
}

/** The trade bill (ALL): the detail columns, in WeChat Pay's order. */
export const tradeBillColumns = [
  '交易时间',
  '公众账号ID',
  '商户号',
  '特约商户号',
  '设备号',
  '微信订单号',
  '商户订单号',
  '用户标识',
  '交易类型',
  '交易状态',
  '付款银行',
  '货币种类',
  '应结订单金额',
  '代金券金额',
  '微信退款单号',
  '商户退款单号',
  '退款金额',
  '充值券退款金额',
  '退款类型',
  '退款状态',
  '商品名称',
  '商户数据包',
  '手续费',
  '费率',
  '订单金额',
  '申请退款金额',
  '费率备注',
] as const;

/** The trade bill's summary columns (the last two lines). */
export const tradeBillSummaryColumns = [
  '总交易单数',
  '应结订单总金额',
  '退款总金额',
  '充值券退款总金额',
  '手续费总金额',
  '订单总金额',
  '申请退款总金额',
] as const;

/** Base62 nonce, as WeChat Pay's SDKs make them. */
export function nonce(size = 32): string {
  const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
  return [...randomBytes(size)].map((b) => alphabet[b % 62]).join('');
}

/** Joins the pieces with a line feed after each one, the input of every v3 signature. */
export function joinedByLineFeed(...pieces: (string | number)[]): string {
  return pieces.map((p) => `${p}\n`).join('');
}

/** "METHOD\nURL\ntimestamp\nnonce\nbody\n": what a request's signature covers. */
export function requestMessage(
  method: string,
  pathWithQuery: string,
  timestamp: string,
  nonceStr: string,
  body: string,
): string {
  return joinedByLineFeed(method.toUpperCase(), pathWithQuery, timestamp, nonceStr, body);
}

/** "timestamp\nnonce\nbody\n": what an answer's or a notification's signature covers. */
export function responseMessage(timestamp: string, nonceStr: string, body: string): string {
  return joinedByLineFeed(timestamp, nonceStr, body);
}

export function rsaSign(message: string, privateKey: string): string {
  return createSign('RSA-SHA256').update(message, 'utf8').sign(privateKey, 'base64');
}

export function rsaVerify(message: string, signature: string, publicKey: string): boolean {
  try {
    return createVerify('RSA-SHA256')
      .update(message, 'utf8')
      .verify(publicKey, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}

export interface AuthorizationParams {
  mchid: string;
  nonce_str: string;
  signature: string;
  timestamp: string;
  serial_no: string;
}

/** The Authorization header of one request, signed with the merchant's private key. */
export function authorization(options: {
  mchId: string;
  serialNo: string;
  privateKey: string;
  method: string;
  pathWithQuery: string;
  body: string;
  nowMs: number;
  nonce?: string;
}): string {
  const timestamp = String(Math.floor(options.nowMs / 1000));
  const nonceStr = options.nonce ?? nonce();
  const signature = rsaSign(
    requestMessage(options.method, options.pathWithQuery, timestamp, nonceStr, options.body),
    options.privateKey,
  );
  return (
    `${authorizationScheme} mchid="${options.mchId}",nonce_str="${nonceStr}",` +
    `signature="${signature}",timestamp="${timestamp}",serial_no="${options.serialNo}"`
  );
}

/** Reads an Authorization header; undefined unless it is the v3 scheme with every parameter. */
export function parseAuthorization(header: string | undefined): AuthorizationParams | undefined {
  if (!header?.startsWith(`${authorizationScheme} `)) return undefined;
  const params: Record<string, string> = {};
  for (const match of header.slice(authorizationScheme.length + 1).matchAll(/(\w+)="([^"]*)"/g)) {
    params[match[1]!] = match[2]!;
  }
  const { mchid, nonce_str, signature, timestamp, serial_no } = params;
  if (!mchid || !nonce_str || !signature || !timestamp || !serial_no) return undefined;
  return { mchid, nonce_str, signature, timestamp, serial_no };
}

function within(timestamp: string, nowMs: number): boolean {
  if (!/^\d{1,12}$/.test(timestamp)) return false;
  return Math.abs(nowMs / 1000 - Number(timestamp)) <= timestampToleranceSeconds;
}

/** Why a request's Authorization is refused, or undefined when it verifies. */
export function checkAuthorization(options: {
  header: string | undefined;
  mchId: string;
  serialNo: string;
  publicKey: string;
  method: string;
  pathWithQuery: string;
  body: string;
  nowMs: number;
}): string | undefined {
  const params = parseAuthorization(options.header);
  if (!params) return 'Authorization is missing or not WECHATPAY2-SHA256-RSA2048';
  if (!sameText(params.mchid, options.mchId)) return 'unknown mchid';
  if (!sameText(params.serial_no, options.serialNo)) return 'unknown merchant serial_no';
  if (!within(params.timestamp, options.nowMs)) return 'timestamp is outside five minutes';
  const message = requestMessage(
    options.method,
    options.pathWithQuery,
    params.timestamp,
    params.nonce_str,
    options.body,
  );
  if (!rsaVerify(message, params.signature, options.publicKey)) return 'signature is wrong';
  return undefined;
}

/** The Wechatpay-* headers of one answer or notification, signed with the platform's key. */
export function signedHeaders(
  body: string,
  privateKey: string,
  serialNo: string,
  nowMs: number,
): Record<string, string> {
  const timestamp = String(Math.floor(nowMs / 1000));
  const nonceStr = nonce();
  return {
    'Wechatpay-Timestamp': timestamp,
    'Wechatpay-Nonce': nonceStr,
    'Wechatpay-Signature': rsaSign(responseMessage(timestamp, nonceStr, body), privateKey),
    'Wechatpay-Serial': serialNo,
    'Wechatpay-Signature-Type': authorizationScheme,
  };
}

function header(headers: Record<string, string | string[] | undefined | null>, name: string) {
  const value = headers[name] ?? headers[name.toLowerCase()];
  return (Array.isArray(value) ? value[0] : value) ?? undefined;
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The Wechatpay-Serial an answer or notification claims to be signed with, if any. */
export function signedSerial(
  headers: Record<string, string | string[] | undefined | null>,
): string | undefined {
  return header(headers, wechatpayHeaders.serial);
}

/**
 * Why an answer's or a notification's Wechatpay-* headers are refused, or undefined when they
 * verify: the serial must be a platform certificate we hold, the timestamp within five minutes, and
 * the signature over "timestamp\nnonce\nbody\n" good under that certificate's public key.
 */
export function checkSignedHeaders(options: {
  headers: Record<string, string | string[] | undefined | null>;
  body: string;
  /** The public key (PEM) of the platform certificate with this serial, if we hold it. */
  publicKeyOf: (serial: string) => string | undefined;
  nowMs: number;
}): string | undefined {
  const timestamp = header(options.headers, wechatpayHeaders.timestamp);
  const nonceStr = header(options.headers, wechatpayHeaders.nonce);
  const signature = header(options.headers, wechatpayHeaders.signature);
  const serial = header(options.headers, wechatpayHeaders.serial);
  if (!timestamp || !nonceStr || !signature || !serial) return 'Wechatpay-* headers are missing';
  const publicKey = options.publicKeyOf(serial);
  if (!publicKey) return `unknown Wechatpay-Serial ${serial}`;
  if (!within(timestamp, options.nowMs)) return 'Wechatpay-Timestamp is outside five minutes';
  const message = responseMessage(timestamp, nonceStr, options.body);
  if (!rsaVerify(message, signature, publicKey)) return 'Wechatpay-Signature is wrong';
  return undefined;
}

/** GET /v3/certificates: the platform certificates in force, each sealed with the APIv3 key. */
export const certificatesPath = '/v3/certificates';

/** The associated data a platform certificate is sealed with. */
export const certificateAssociatedData = 'certificate';

export interface PlatformCertificate {
  serial_no: string;
  /** RFC 3339 */
  effective_time: string;
  /** RFC 3339 */
  expire_time: string;
  encrypt_certificate: {
    algorithm: 'AEAD_AES_256_GCM';
    nonce: string;
    associated_data: string;
    /** The certificate's PEM text, sealed as `encryptResource` does. */
    ciphertext: string;
  };
}

export interface CertificatesAnswer {
  data: PlatformCertificate[];
}

/** AEAD_AES_256_GCM with the APIv3 key: base64 of ciphertext followed by the 16-byte tag. */
export function encryptResource(
  plaintext: string,
  apiV3Key: string,
  nonceStr: string,
  associatedData: string,
): string {
  const cipher = createCipheriv('aes-256-gcm', Buffer.from(apiV3Key, 'utf8'), nonceStr);
  cipher.setAAD(Buffer.from(associatedData, 'utf8'));
  return Buffer.concat([
    cipher.update(plaintext, 'utf8'),
    cipher.final(),
    cipher.getAuthTag(),
  ]).toString('base64');
}

/** Decrypts a resource; throws when the key, nonce, associated data or ciphertext do not match. */
export function decryptResource(
  ciphertext: string,
  apiV3Key: string,
  nonceStr: string,
  associatedData: string,
): string {
  const data = Buffer.from(ciphertext, 'base64');
  if (data.length <= 16) throw new Error('ciphertext is too short');
  const decipher = createDecipheriv('aes-256-gcm', Buffer.from(apiV3Key, 'utf8'), nonceStr);
  decipher.setAuthTag(data.subarray(data.length - 16));
  decipher.setAAD(Buffer.from(associatedData, 'utf8'));
  return Buffer.concat([
    decipher.update(data.subarray(0, data.length - 16)),
    decipher.final(),
  ]).toString('utf8');
}
