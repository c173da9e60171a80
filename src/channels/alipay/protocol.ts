// Alipay's OpenAPI (v2 gateway) protocol as both sides speak it: method names, trade statuses,
// yuan amounts, the RSA2 signature content, and the trade bill (业务明细) layout.
// Our adapter signs and verifies through the official alipay-sdk; the simulator's face, which plays
// Alipay's side (signing answers and notifications, verifying our requests), uses node:crypto
// with the same rules, since the SDK is a client and offers no server side.
import { createSign, createVerify } from 'node:crypto';
import { formatMinorUnits, parseMajorUnits } from '../../domain/money';

export const alipayMethods = {
  pagePay: 'alipay.trade.page.pay',
  precreate: 'alipay.trade.precreate',
  query: 'alipay.trade.query',
  close: 'alipay.trade.close',
  refund: 'alipay.trade.refund',
  refundQuery: 'alipay.trade.fastpay.refund.query',
  billUrl: 'alipay.data.dataservice.bill.downloadurl.query',
} as const;
export type AlipayMethod = (typeof alipayMethods)[keyof typeof alipayMethods];

/** `alipay.trade.query` answers under `alipay_trade_query_response`. */
export function responseKey(method: string): string {
  return `${method.replaceAll('.', '_')}_response`;
}

export const alipayTradeStatuses = [
  'WAIT_BUYER_PAY',
  'TRADE_SUCCESS',
  'TRADE_FINISHED',
  'TRADE_CLOSED',
] as const;
export type AlipayTradeStatus = (typeof alipayTradeStatuses)[number];

/** The gateway's common answer codes. */
export const alipayCodes = {
  success: '10000',
  unavailable: '20000',
  missingParameter: '40001',
  invalidParameter: '40002',
  businessFailure: '40004',
} as const;

/**
 * sub_codes that refuse nothing for good: Alipay asks to call again with the same parameters
 * (ACQ.SYSTEM_ERROR, 系统错误) or to call less often (isv.app-call-limited, 应用调用次数超限);
 * any isp.* is Alipay's own service failing.
 */
export function isTryLater(subCode: string): boolean {
  return (
    subCode === 'ACQ.SYSTEM_ERROR' ||
    subCode === 'isv.app-call-limited' ||
    subCode.startsWith('isp.')
  );
}

export const pagePayProductCode = 'FAST_INSTANT_TRADE_PAY';
export const precreateProductCode = 'FACE_TO_FACE_PAYMENT';

/** Yuan with two decimals, exactly ("0.01", "100000000.00"). Alipay only takes CNY here. */
export function toYuan(minorUnits: number): string {
  return formatMinorUnits(minorUnits, 'CNY');
}

/** "12.3" or "12.34" yuan to fen, exactly; throws RangeError on anything else. */
export function fromYuan(text: string): number {
  return parseMajorUnits(text, 'CNY');
}

/** Alipay's total_amount range: [0.01, 100000000] yuan. */
export const maxAmountFen = 100_000_000_00;

/**
 * The string Alipay signs: every parameter but `sign` (and `sign_type` for notifications), with a
 * non-empty value, sorted by name, as `name=value` joined by `&`, values not URL-encoded.
 */
export function signContent(
  params: Record<string, string>,
  exclude: readonly string[] = ['sign'],
): string {
  return Object.keys(params)
    .filter((key) => !exclude.includes(key) && params[key] !== undefined && params[key] !== '')
    .sort()
    .map((key) => `${key}=${params[key]}`)
    .join('&');
}

/** SHA256withRSA, base64: Alipay's RSA2. */
export function rsa2Sign(content: string, privateKeyPem: string): string {
  return createSign('RSA-SHA256').update(content, 'utf8').sign(privateKeyPem, 'base64');
}

export function rsa2Verify(content: string, signature: string, publicKeyPem: string): boolean {
  try {
    return createVerify('RSA-SHA256')
      .update(content, 'utf8')
      .verify(publicKeyPem, signature, 'base64');
  } catch {
    return false;
  }
}

/**
 * Parses a form body strictly: a repeated parameter is refused (the signature covers one value
 * per name, so a second one could only be smuggled in).
 */
export function parseForm(body: string): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (const [key, value] of new URLSearchParams(body)) {
    if (Object.hasOwn(params, key)) return undefined;
    params[key] = value;
  }
  return params;
}

// The trade bill (bill_type=trade): a zip holding "<pid>_<yyyyMMdd>_业务明细.csv" and its
// "(汇总)" summary, GBK-encoded, each cell followed by a tab, comment lines starting with "#".
export const billDetailSuffix = '_业务明细.csv';
export const billSummarySuffix = '_业务明细(汇总).csv';
export const billColumns = [
  '支付宝交易号',
  '商户订单号',
  '业务类型',
  '商品名称',
  '创建时间',
  '完成时间',
  '门店编号',
  '门店名称',
  '操作员',
  '终端号',
  '对方账户',
  '订单金额（元）',
  '商家实收（元）',
  '支付宝红包（元）',
  '集分宝（元）',
  '支付宝优惠（元）',
  '商家优惠（元）',
  '券核销金额（元）',
  '券名称',
  '商家红包消费金额（元）',
  '卡消费金额（元）',
  '退款批次号/请求号',
  '服务费（元）',
  '分润（元）',
  '备注',
] as const;
export type BillColumn = (typeof billColumns)[number];
export const billKinds = { payment: '交易', refund: '退款' } as const;
