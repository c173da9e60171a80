// What paycenter tells a merchant, and how persistently it keeps trying.
export const merchantEventTypes = [
  'pay_order.succeeded',
  'pay_order.closed',
  'pay_order.refunded',
] as const;
export type MerchantEventType = (typeof merchantEventTypes)[number];

export interface MerchantEventData {
  payOrderId: string;
  merchantOrderNo: string;
  status: string;
  amount: number;
  currency: string;
  refund?: { id: string; amount: number; reason: string; status: string };
}

export interface MerchantEvent {
  /** Stable across redeliveries: merchants deduplicate by it. */
  id: string;
  type: MerchantEventType;
  createdAt: string;
  data: MerchantEventData;
}

/** Delays between deliveries until the merchant answers 2xx, in the order of the channels' own. */
export const defaultMerchantNotifyRetrySeconds = [
  15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600,
];
