// An example merchant on paycenter: a shop that takes an order, has paycenter create its pay order
// (the payer pays on paycenter's cashier), and fulfils the order when paycenter's notification
// says it was paid: verified first, and once however often it comes (paycenter retries until it
// gets a 2xx, and an operator or the shop may have an event sent again).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  NotificationRejected,
  PaycenterError,
  verifyNotification,
  type PaycenterClient,
  type PaycenterEvent,
} from '@paycenter/client';

export interface ShopOrder {
  merchantOrderNo: string;
  amount: number;
  subject: string;
  payOrderId: string;
  cashierUrl: string;
  /** Set once, by the first verified pay_order.succeeded. */
  paidAt?: string;
  /** How often the shop fulfilled the order: 1 at most, whatever paycenter sends. */
  fulfilments: number;
}

export interface ShopOptions {
  paycenter: PaycenterClient;
  /** The notify secret paycenter gave the merchant (the old and the new while it rotates). */
  notifySecrets: string[];
  /**
   * Where paycenter reaches this shop: its notify URL is `${publicUrl}/paycenter/notifications`.
   * Unset: the address the shop listens on.
   */
  publicUrl?: string;
}

/** The shop's books. A real shop keeps them in its database, the event IDs under a unique key. */
export class ShopBooks {
  readonly orders = new Map<string, ShopOrder>();
  /** Event IDs already handled: a repeat is answered 200 and changes nothing. */
  readonly handledEvents = new Set<string>();

  /** Applies a verified event once; answers whether it was new. */
  apply(event: PaycenterEvent): boolean {
    if (this.handledEvents.has(event.id)) return false;
    this.handledEvents.add(event.id);
    const order = this.orders.get(event.data.merchantOrderNo);
    if (event.type === 'pay_order.succeeded' && order && !order.paidAt) {
      order.paidAt = event.createdAt;
      order.fulfilments += 1;
    }
    return true;
  }
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

interface CheckoutRequest {
  merchantOrderNo: string;
  /** Minor units (fen). */
  amount: number;
  subject: string;
}

/** The checkout's body, or what is wrong with it. */
function checkoutRequest(raw: Buffer): CheckoutRequest | string {
  let body: Partial<Record<keyof CheckoutRequest, unknown>>;
  try {
    body = JSON.parse(raw.toString()) as typeof body;
  } catch {
    return 'the body is not JSON';
  }
  const { merchantOrderNo, amount, subject } = body ?? {};
  if (typeof merchantOrderNo !== 'string' || typeof subject !== 'string') {
    return 'send merchantOrderNo and subject as text';
  }
  if (typeof amount !== 'number' || !Number.isInteger(amount)) {
    return 'send amount as a whole number of minor units (fen)';
  }
  return { merchantOrderNo, amount, subject };
}

function reply(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

export function createShop(options: ShopOptions) {
  const books = new ShopBooks();
  function notifyUrl(): string {
    const { port } = server.address() as AddressInfo;
    const base = options.publicUrl?.replace(/\/+$/, '') ?? `http://127.0.0.1:${port}`;
    return `${base}/paycenter/notifications`;
  }

  /** POST /checkout {merchantOrderNo, amount, subject}: the payer is sent to `cashierUrl`. */
  async function checkout(req: IncomingMessage, res: ServerResponse) {
    const request = checkoutRequest(await readBody(req));
    if (typeof request === 'string') {
      reply(res, 400, { error: request });
      return;
    }
    const { merchantOrderNo, amount, subject } = request;
    // The order number is the idempotency key: a retried checkout gets the same pay order.
    const payOrder = await options.paycenter.createPayOrder(
      { merchantOrderNo, amount, currency: 'CNY', subject, notifyUrl: notifyUrl() },
      { idempotencyKey: `checkout-${merchantOrderNo}` },
    );
    const order: ShopOrder = books.orders.get(merchantOrderNo) ?? {
      merchantOrderNo,
      amount,
      subject,
      payOrderId: payOrder.id,
      cashierUrl: payOrder.cashierUrl,
      fulfilments: 0,
    };
    books.orders.set(merchantOrderNo, order);
    reply(res, 201, order);
  }

  /** POST /paycenter/notifications: verified against the raw body, then applied once. */
  async function notification(req: IncomingMessage, res: ServerResponse) {
    const raw = await readBody(req);
    let event: PaycenterEvent;
    try {
      event = verifyNotification(raw, req.headers, options.notifySecrets);
    } catch (err) {
      if (!(err instanceof NotificationRejected)) throw err;
      reply(res, 400, { rejected: err.reason });
      return;
    }
    const applied = books.apply(event);
    reply(res, 200, { received: event.id, repeat: !applied });
  }

  const server = createServer((req, res) => {
    const route = `${req.method} ${req.url?.split('?')[0]}`;
    const handled =
      route === 'POST /checkout'
        ? checkout(req, res)
        : route === 'POST /paycenter/notifications'
          ? notification(req, res)
          : Promise.resolve(reply(res, 404, { error: `no route ${route}` }));
    handled.catch((err: unknown) => {
      // paycenter's refusal is the shop's answer too; anything else is the shop's own failure.
      if (err instanceof PaycenterError) reply(res, err.status, err.problem ?? {});
      else reply(res, 500, { error: 'the shop failed' });
    });
  });

  return { server, books, notifyUrl };
}
