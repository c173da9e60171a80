// A merchant's notify endpoint for tests: records every POST paycenter makes to it and answers
// each path from a script of statuses (then 200).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { merchantEventIdHeader, merchantSignatureHeader } from '../../src/domain/merchantSignature';

export interface Received {
  path: string;
  eventId: string;
  signature: string;
  body: string;
}

/** The merchant's endpoint: answers each path from its script of statuses (then 200). */
export class MerchantEndpoint {
  received: Received[] = [];
  scripts = new Map<string, number[]>();
  private server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      const path = req.url ?? '/';
      this.received.push({
        path,
        eventId: String(req.headers[merchantEventIdHeader]),
        signature: String(req.headers[merchantSignatureHeader]),
        body,
      });
      const status = this.scripts.get(path)?.shift() ?? 200;
      res.writeHead(status).end();
    });
  });
  url = '';

  async start() {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  stop() {
    return new Promise((resolve) => this.server.close(resolve));
  }
  at(path: string) {
    return this.received.filter((r) => r.path === path);
  }
}
