// The common interface every channel adapter offers; the core sees only these types.
import type { ChannelFact, ChannelOrderOpened } from '../domain/payOrder';
import type { StatementEntry } from '../domain/reconciliation';
import type { Currency } from '../domain/money';

export interface ChannelOrderRequest {
  outTradeNo: string;
  amount: number;
  currency: Currency;
  subject: string;
  method: string;
  /** The pay order's expiry; the channel must refuse payment after it. */
  expiresAt: string;
  notifyUrl: string;
  returnUrl?: string;
  /** The payer's ID at the channel, for methods that need one (WeChat Pay JSAPI's openid). */
  payerId?: string;
}

/** A created channel order: what the payer pays with (domain's ChannelOrderOpened), and more. */
export interface ChannelOrderCreated extends ChannelOrderOpened {
  /**
   * Synchronous channels (bank-card quick pay) may answer the payment's outcome with the order:
   * SUCCEEDED, FAILED as CLOSED, or PENDING when it was only accepted or is unknown.
   */
  outcome?: ChannelFact;
}

/** One line of a channel's daily statement (reconciliation's own type). */
export type StatementLine = StatementEntry;

/** Shown every byte of a statement file as served, in order, before it is parsed. */
export type StatementRecorder = (raw: Buffer) => Promise<void>;

export type CloseAnswer = { kind: 'closed' } | { kind: 'alreadyPaid'; fact: ChannelFact };

/** What a close may need besides the out_trade_no (filled from our books by the close activity). */
export interface CloseContext {
  /**
   * The pay order's expiry, sent as the channel order's time_expire: a channel whose orders exist
   * only once the payer opens them (Alipay) can confirm the close of one it does not know only
   * once this has passed.
   */
  expiresAt?: string;
}

export interface VerifiedNotification {
  /** Unique per notification at the channel; repeats carry the same key. */
  dedupeKey: string;
  fact: ChannelFact;
}

export interface ChannelRefundRequest {
  outTradeNo: string;
  /** Our refund ID, sent as the channel's refund idempotency key. */
  refundNo: string;
  amount: number;
}

/** PROCESSING is not final: follow it with queryRefund until it is. */
export type ChannelRefundStatus = 'PROCESSING' | 'SUCCEEDED' | 'FAILED';

export interface ChannelReply {
  status: number;
  contentType: string;
  body: string;
}

export interface IncomingNotification {
  headers: Record<string, string | string[] | undefined>;
  rawBody: string;
}

/**
 * How the payer completes a method: sent to the channel's pay page (`redirect`), shown a QR code
 * of the pay URL to scan (`qr`), the channel app's pay sheet from signed parameters (`paySheet`),
 * or charged at once with the outcome in the answer (`direct`).
 */
export type HandOff = 'redirect' | 'qr' | 'paySheet' | 'direct';

export interface ChannelAdapter {
  readonly name: string;
  readonly methods: readonly [string, ...string[]];
  /** One hand-off per method. */
  readonly handOffs: Readonly<Record<string, HandOff>>;
  /** Methods that pay as a known user at the channel: the pay request must name the payer. */
  readonly methodsNeedingPayer?: readonly string[];
  readonly currencies: readonly Currency[];
  createOrder(order: ChannelOrderRequest): Promise<ChannelOrderCreated>;
  /** `method` is the attempt's, for channels whose answer depends on it. */
  queryOrder(outTradeNo: string, method?: string): Promise<ChannelFact>;
  /** Answers only a close the channel confirms; throws when it is not confirmed. */
  closeOrder(outTradeNo: string, context?: CloseContext): Promise<CloseAnswer>;
  refund(request: ChannelRefundRequest): Promise<ChannelRefundStatus>;
  queryRefund(outTradeNo: string, refundNo: string): Promise<ChannelRefundStatus>;
  /**
   * The channel's statement of one day (yyyy-MM-dd in its time zone): every payment and refund it
   * booked, in batches of lines parsed as the download arrives, so that no statement is held
   * whole (src/channels/statements.ts). `record` is shown the file's bytes first. Iterate once;
   * the iteration throws when the file cannot be had or read (ChannelUnavailableError).
   */
  fetchStatement(day: string, record: StatementRecorder): AsyncIterable<StatementLine[]>;
  /**
   * Fetches what verifying this notification needs and the adapter does not hold yet (WeChat Pay:
   * a rotated platform certificate), within the channel's own refresh limits; never throws.
   */
  prepareVerification?(notification: IncomingNotification): Promise<void>;
  /** Verifies the signature before parsing anything; throws INVALID_SIGNATURE on a forgery. */
  verifyNotification(notification: IncomingNotification): VerifiedNotification;
  /**
   * The headers of a notification the inbox keeps beside its raw body (lower case): what its
   * signature was verified with, so the record can be checked again. None where it is in the body.
   */
  readonly notificationHeaders: readonly string[];
  /** What the channel expects back: `accepted` stops its retries, `rejected` makes it retry. */
  readonly replies: { accepted: ChannelReply; rejected: ChannelReply };
}

/** The channel could not be reached or answered with a server error: worth retrying. */
export class ChannelUnavailableError extends Error {
  override name = 'ChannelUnavailableError';
}

/** The channel refused the request for a business reason: retrying will not help. */
export class ChannelRejectedError extends Error {
  override name = 'ChannelRejectedError';
  constructor(
    readonly channelCode: string,
    message: string,
  ) {
    super(message);
  }
}
