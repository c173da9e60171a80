// The merchant's side of notifications: a local endpoint that answers 2xx, counts deliveries and
// wakes whoever waits for a pay order's `pay_order.succeeded`.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { wallNow } from './stats';

export interface MerchantReceiver {
  notifyUrl: string;
  deliveries: number;
  /** Resolves with the arrival time (wall clock, ms) of the order's success notification. */
  succeeded(payOrderId: string): Promise<number>;
  stop(): Promise<void>;
}

export async function startMerchantReceiver(): Promise<MerchantReceiver> {
  const arrived = new Map<string, number>();
  const waiting = new Map<string, (at: number) => void>();
  const receiver = {
    notifyUrl: '',
    deliveries: 0,
    succeeded(payOrderId: string) {
      const at = arrived.get(payOrderId);
      if (at !== undefined) return Promise.resolve(at);
      return new Promise<number>((resolve) => waiting.set(payOrderId, resolve));
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  const server = http.createServer((req, res) => {
    const at = wallNow();
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      receiver.deliveries += 1;
      // Signatures are not checked: the bench counts and times deliveries, nothing more.
      const event = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      if (event.type === 'pay_order.succeeded') {
        const id = event.data.payOrderId as string;
        if (!arrived.has(id)) arrived.set(id, at);
        waiting.get(id)?.(at);
        waiting.delete(id);
      }
      res.writeHead(204).end();
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.notifyUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/merchant/notify`;
  return receiver;
}
