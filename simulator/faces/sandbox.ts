// The `sandbox` channel's face: JSON requests and notifications signed with HMAC-SHA256.
import { createReadStream } from 'node:fs';
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import {
  sandboxBillColumns,
  sandboxHeaders,
  signedHeaders,
  verifySignature,
} from '../../src/channels/sandbox/protocol';
import { GatewayError } from '../engine';
import type { ChannelFace, FaceContext } from '../server';

const createSchema = z.object({
  out_trade_no: z.string().regex(/^[A-Za-z0-9_-]{6,64}$/),
  total_amount: z.number().int().positive(),
  currency: z.string().length(3),
  subject: z.string().min(1).max(256),
  method: z.enum(['page', 'qr']),
  time_expire: z.string().min(1),
  notify_url: z.url(),
  return_url: z.url().optional(),
});
const tradeRef = z.object({ out_trade_no: z.string().min(1) });
const refundSchema = z.object({
  out_trade_no: z.string().min(1),
  out_request_no: z.string().regex(/^[A-Za-z0-9_-]{6,64}$/),
  refund_amount: z.number().int().positive(),
});
const refundRef = refundSchema.pick({ out_trade_no: true, out_request_no: true });
const billSchema = z.object({ bill_date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/) });

export interface SandboxFaceOptions {
  appId: string;
  secret: string;
  retrySeconds: number[];
}

export function sandboxFace(options: SandboxFaceOptions): ChannelFace {
  /** Parses a signed gateway request, refusing anything not signed by the known app. */
  function signedBody<T>(schema: z.ZodType<T>, headers: Record<string, unknown>, raw: unknown): T {
    const body = typeof raw === 'string' ? raw : '';
    const appId = headers[sandboxHeaders.appId];
    const signed = verifySignature(
      options.secret,
      headers as Record<string, string | undefined>,
      body,
      Date.now(),
    );
    if (appId !== options.appId || !signed) {
      throw new GatewayError('INVALID_SIGNATURE', 401, 'unknown app or bad signature');
    }
    return schema.parse(JSON.parse(body));
  }

  const routes: FastifyPluginAsync<FaceContext> = async (app, { gateway, statementFiles }) => {
    app.post('/gateway/trade/create', async (req) =>
      gateway.createTrade('sandbox', signedBody(createSchema, req.headers, req.body)),
    );
    app.post('/gateway/trade/query', async (req) =>
      gateway.queryTrade(signedBody(tradeRef, req.headers, req.body).out_trade_no),
    );
    app.post('/gateway/trade/close', async (req) =>
      gateway.closeTrade(signedBody(tradeRef, req.headers, req.body).out_trade_no),
    );
    app.post('/gateway/trade/refund', async (req) =>
      gateway.refund(signedBody(refundSchema, req.headers, req.body)),
    );
    app.post('/gateway/trade/refund/query', async (req) => {
      const ref = signedBody(refundRef, req.headers, req.body);
      return gateway.queryRefund(ref.out_trade_no, ref.out_request_no);
    });
    app.post('/gateway/bill/download', async (req, reply) => {
      const { bill_date } = signedBody(billSchema, req.headers, req.body);
      const file = statementFiles.file('sandbox', bill_date);
      if (file) return reply.type('text/csv; charset=utf-8').send(createReadStream(file));
      const rows = gateway
        .statement('sandbox', bill_date)
        .map((e) =>
          [e.kind, e.outTradeNo, e.tradeNo, e.amount, e.currency, e.refundNo ?? '', e.at].join(','),
        );
      return reply
        .type('text/csv; charset=utf-8')
        .send([sandboxBillColumns.join(','), ...rows].join('\n') + '\n');
    });
  };

  return {
    channel: 'sandbox',
    routes,
    retrySeconds: options.retrySeconds,
    encodeNotification(_trade, notification) {
      const body = JSON.stringify(notification);
      return {
        body,
        headers: {
          'content-type': 'application/json',
          ...signedHeaders(options.appId, options.secret, body, Date.now()),
        },
      };
    },
    isAcknowledged: (status, body) => status >= 200 && status < 300 && body === 'success',
  };
}
