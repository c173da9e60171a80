// HTTP face of the sandbox channel: the signed gateway API, the payer's pay page, and the control API.
import Fastify, { type FastifyInstance } from 'fastify';
import { fastifyLogging } from '../log';
import { escapeHtml, sendPage } from '../html';
import type { Logger } from 'pino';
import { z } from 'zod';
import { verifySignature, sandboxHeaders } from '../channels/sandbox/protocol';
import { GatewayError, SandboxGateway } from './gateway';

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
const faultsSchema = z
  .object({
    dropNotifications: z.boolean(),
    duplicateNotifications: z.boolean(),
    reorderNotifications: z.boolean(),
    delayNotificationsMs: z.number().int().min(0).max(3_600_000),
    failQueries: z.boolean(),
    slowQueriesMs: z.number().int().min(0).max(3_600_000),
    slowRefunds: z.boolean(),
  })
  .partial()
  .strict();
/** The control payer: no body pays the trade's amount; `amount` pays another. */
const controlPaySchema = z.object({ amount: z.number().int().positive() }).partial().strict();

export interface SandboxServerOptions {
  appId: string;
  secret: string;
  publicUrl: string;
  notifyRetrySeconds: number[];
  log: Logger;
}

export function buildSandboxServer(options: SandboxServerOptions): {
  app: FastifyInstance;
  gateway: SandboxGateway;
} {
  const gateway = new SandboxGateway(options);
  const app = Fastify({
    ...fastifyLogging(options.log, 'sandbox'),
  });
  app.addHook('onClose', async () => gateway.stop());

  // The gateway verifies signatures over the exact bytes, so keep JSON bodies as text.
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) =>
    done(null, body),
  );
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string' },
    (_req, body, done) => done(null, Object.fromEntries(new URLSearchParams(String(body)))),
  );

  app.setErrorHandler((err, _req, reply) => {
    if (err instanceof GatewayError) {
      return reply.status(err.httpStatus).send({ code: err.code, message: err.message });
    }
    if (err instanceof z.ZodError) {
      return reply.status(400).send({ code: 'INVALID_REQUEST', message: z.prettifyError(err) });
    }
    if (err instanceof SyntaxError) {
      return reply.status(400).send({ code: 'INVALID_REQUEST', message: 'body is not JSON' });
    }
    const status = (err as { statusCode?: number }).statusCode ?? 500;
    const message = err instanceof Error ? err.message : String(err);
    return reply
      .status(status)
      .send({ code: status >= 500 ? 'SYSTEM_ERROR' : 'INVALID_REQUEST', message });
  });

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

  /** Parses an optional JSON control body; none at all (no content-type either) means `{}`. */
  function controlBody<T>(schema: z.ZodType<T>, raw: unknown): T {
    const text = typeof raw === 'string' ? raw.trim() : '';
    return schema.parse(text === '' ? {} : JSON.parse(text));
  }

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.post('/gateway/trade/create', async (req) =>
    gateway.createTrade(signedBody(createSchema, req.headers, req.body)),
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

  app.get<{ Params: { outTradeNo: string } }>('/pay/:outTradeNo', async (req, reply) => {
    const trade = gateway.inspect(req.params.outTradeNo);
    return sendPage(reply, 'Sandbox payment', [
      `<p>Order <code>${escapeHtml(trade.out_trade_no)}</code></p>`,
      `<p class="amount">${trade.total_amount} minor units ${escapeHtml(trade.currency)}</p>`,
      `<p>Status: <strong id="status">${trade.trade_status}</strong></p>`,
      trade.trade_status === 'WAIT_BUYER_PAY'
        ? `<form method="post"><button id="pay" type="submit">Pay now</button></form>`
        : '',
    ]);
  });

  app.post<{ Params: { outTradeNo: string } }>('/pay/:outTradeNo', async (req, reply) => {
    const outTradeNo = req.params.outTradeNo;
    try {
      gateway.pay(outTradeNo, { force: false });
    } catch (err) {
      if (!(err instanceof GatewayError)) throw err;
      return sendPage(reply.status(err.httpStatus), 'Payment refused', [
        `<p id="status">${escapeHtml(err.message)}</p>`,
      ]);
    }
    const returnUrl = gateway.returnUrl(outTradeNo);
    if (returnUrl) return reply.redirect(returnUrl, 303);
    return sendPage(reply, 'Paid', [`<p id="status">TRADE_SUCCESS</p>`]);
  });

  app.get('/control/payments', async () => ({ items: gateway.list() }));
  app.get<{ Params: { outTradeNo: string } }>('/control/payments/:outTradeNo', async (req) =>
    gateway.inspect(req.params.outTradeNo),
  );
  app.post<{ Params: { outTradeNo: string } }>('/control/payments/:outTradeNo/pay', async (req) => {
    const { amount } = controlBody(controlPaySchema, req.body);
    return gateway.pay(req.params.outTradeNo, {
      force: true,
      ...(amount !== undefined ? { amount } : {}),
    });
  });
  // Faults for one trade, over the global ones (the trade's own win).
  app.get<{ Params: { outTradeNo: string } }>('/control/payments/:outTradeNo/faults', async (req) =>
    gateway.currentTradeFaults(req.params.outTradeNo),
  );
  app.post<{ Params: { outTradeNo: string } }>(
    '/control/payments/:outTradeNo/faults',
    async (req) =>
      gateway.setTradeFaults(req.params.outTradeNo, controlBody(faultsSchema, req.body)),
  );
  app.delete<{ Params: { outTradeNo: string } }>(
    '/control/payments/:outTradeNo/faults',
    async (req) => gateway.clearTradeFaults(req.params.outTradeNo),
  );
  app.get('/control/faults', async () => gateway.currentFaults());
  app.post('/control/faults', async (req) => {
    gateway.setFaults(controlBody(faultsSchema, req.body));
    return gateway.currentFaults();
  });
  app.delete('/control/faults', async () => {
    gateway.clearFaults();
    return gateway.currentFaults();
  });

  return { app, gateway };
}
