// What the end-to-end files do as merchant, payer and channel: a pay order created and paid on a
// channel, the payer paying at the simulator, waiting for the order's status, and a success
// notification of the sandbox channel posted to paycenter's webhook, signed as the channel signs.
import assert from 'node:assert/strict';
import { signedHeaders } from '../../src/channels/sandbox/protocol';
import { eventually, type TestSystem } from './system';

/** A merchant order number (or any reference) no other test uses. */
export const unique = (prefix: string) =>
  `${prefix}-${Date.now()}-${Math.floor(Math.random() * 1e6)}`;

export interface OrderRequest {
  /** Starts the merchant order number, which is made unique. */
  prefix: string;
  amount: number;
  subject: string;
  expiresInSeconds?: number;
  /** Where the merchant hears of the order (the demo merchant's own URL when absent). */
  notifyUrl?: string;
  /** Where the payer goes back to the merchant after paying. */
  returnUrl?: string;
  /** The merchant order number itself, when a test repeats one (else made from the prefix). */
  merchantOrderNo?: string;
}

/** The body of a pay order request, as a merchant sends it. */
export function payOrderBody(order: OrderRequest) {
  return {
    merchantOrderNo: order.merchantOrderNo ?? unique(order.prefix),
    amount: order.amount,
    currency: 'CNY',
    subject: order.subject,
    ...(order.expiresInSeconds === undefined ? {} : { expiresInSeconds: order.expiresInSeconds }),
    ...(order.notifyUrl ? { notifyUrl: order.notifyUrl } : {}),
    ...(order.returnUrl ? { returnUrl: order.returnUrl } : {}),
  };
}

export interface PayRequest {
  channel: string;
  method?: string;
}

/**
 * The merchant creates a pay order (201): its ID, the cashierUrl the merchant sends the payer to,
 * and when it expires.
 */
export async function createPayOrderForPayer(
  system: TestSystem,
  order: OrderRequest,
): Promise<{ id: string; cashierUrl: string; expiresAt: string }> {
  const created = await system.api('POST', '/v1/pay-orders', payOrderBody(order));
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const { id, cashierUrl, expiresAt } = created.body;
  return { id, cashierUrl, expiresAt };
}

/** The merchant creates a pay order (201): its ID. */
export async function createPayOrder(system: TestSystem, order: OrderRequest): Promise<string> {
  return (await createPayOrderForPayer(system, order)).id;
}

/** The merchant pays the pay order on a channel (200): the channel order that answers it. */
export async function openChannelOrder(system: TestSystem, id: string, pay: PayRequest) {
  const paid = await system.api('POST', `/v1/pay-orders/${id}/pay`, {
    channel: pay.channel,
    ...(pay.method ? { method: pay.method } : {}),
  });
  assert.equal(paid.status, 200, JSON.stringify(paid.body));
  // payUrl: for channels paid on a page or by QR code.
  return paid.body.attempt as { id: string; outTradeNo: string; status: string; payUrl: string };
}

/** A pay order created and paid on a channel (the sandbox channel by default), not paid yet. */
export async function payingOrder(
  system: TestSystem,
  order: OrderRequest,
  pay: PayRequest = { channel: 'sandbox' },
) {
  const id = await createPayOrder(system, order);
  const attempt = await openChannelOrder(system, id, pay);
  return { id, outTradeNo: attempt.outTradeNo, attempt };
}

/** The payer pays the channel order at the simulator (its control API), or another `amount`. */
export async function payerPays(system: TestSystem, outTradeNo: string, amount?: number) {
  const paid = await system.simulator(
    'POST',
    `/control/payments/${outTradeNo}/pay`,
    amount === undefined ? undefined : { amount },
  );
  assert.equal(paid.status, 200, JSON.stringify(paid.body));
}

/** A pay order the payer has paid at the simulator, once paycenter holds it SUCCEEDED. */
export async function paidOrder(system: TestSystem, order: OrderRequest, pay?: PayRequest) {
  const paying = await payingOrder(system, order, pay);
  await payerPays(system, paying.outTradeNo);
  await reached(system, paying.id, 'SUCCEEDED');
  return paying;
}

/** Waits until the pay order has this status: the order then. */
export function reached(
  system: TestSystem,
  id: string,
  status: string,
  options: { timeoutMs?: number } = {},
) {
  return eventually(
    async () => {
      const order = await system.payOrder(id);
      return order.status === status && order;
    },
    { what: `pay order ${id} to be ${status}`, ...options },
  );
}

/** The body of the sandbox channel's success notification for a channel order it holds as paid. */
export function sandboxSuccess(success: {
  notifyId: string;
  outTradeNo: string;
  tradeNo: string;
  amount: number;
}): string {
  return sandboxNotification({ ...success, tradeStatus: 'TRADE_SUCCESS' });
}

/** The sandbox channel's notification of a channel order in any status, as the channel sends it. */
export function sandboxNotification(notification: {
  notifyId: string;
  outTradeNo: string;
  tradeNo: string;
  amount: number;
  tradeStatus: 'WAIT_BUYER_PAY' | 'TRADE_SUCCESS' | 'TRADE_CLOSED';
}): string {
  return JSON.stringify({
    notify_id: notification.notifyId,
    out_trade_no: notification.outTradeNo,
    trade_no: notification.tradeNo,
    trade_status: notification.tradeStatus,
    total_amount: notification.amount,
    currency: 'CNY',
  });
}

/** Posts a notification to paycenter's sandbox webhook, signed with the sandbox channel's key. */
export function postSandboxNotification(system: TestSystem, body: string): Promise<Response> {
  const { SANDBOX_APP_ID, SANDBOX_SECRET } = system.config;
  return fetch(`${system.apiUrl}/webhooks/sandbox`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...signedHeaders(SANDBOX_APP_ID, SANDBOX_SECRET, body, Date.now()),
    },
    body,
  });
}
