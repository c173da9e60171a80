// Alipay success notifications made by a test, signed with whatever key the test chooses.
import { rsa2Sign, signContent, toYuan } from '../../src/channels/alipay/protocol';

/** The parameters of a TRADE_SUCCESS notification for `outTradeNo`, unsigned. */
export function alipaySuccessParams(trade: {
  appId: string;
  tradeNo: string;
  outTradeNo: string;
  amount: number;
}): Record<string, string> {
  return {
    notify_time: '2026-11-25 20:30:00',
    notify_type: 'trade_status_sync',
    notify_id: `made-by-test-${Date.now()}-${Math.random()}`,
    app_id: trade.appId,
    charset: 'utf-8',
    version: '1.0',
    trade_no: trade.tradeNo,
    out_trade_no: trade.outTradeNo,
    trade_status: 'TRADE_SUCCESS',
    total_amount: toYuan(trade.amount),
  };
}

/** The form body of those parameters signed RSA2 with `privateKey`. */
export function signedAlipayBody(params: Record<string, string>, privateKey: string): string {
  const sign = rsa2Sign(signContent(params, ['sign', 'sign_type']), privateKey);
  return new URLSearchParams({ ...params, sign_type: 'RSA2', sign }).toString();
}
