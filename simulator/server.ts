// The simulator's HTTP server: each channel face's gateway API, the payer's pay page, and the
// control API that plays the payer and a misbehaving channel.
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyPluginAsync,
} from 'fastify';
import { Readable } from 'node:stream';
import { acceptForms, escapeHtml, sendPage } from '../src/html';
import type { Logger } from 'pino';
import { z } from 'zod';
import { GatewayError, TradeEngine, type NotificationFace } from './engine';
import type { Journal } from './journal';
import { StatementFiles } from './statementFiles';

const faultsSchema = z
  .object({
    dropNotifications: z.boolean(),
    duplicateNotifications: z.boolean(),
    reorderNotifications: z.boolean(),
    delayNotificationsMs: z.number().int().min(0).max(3_600_000),
    failQueries: z.boolean(),
    slowQueriesMs: z.number().int().min(0).max(3_600_000),
    slowRefunds: z.boolean(),
    rateLimitRefundQueries: z.number().int().min(0).max(1_000_000),
  })
  .partial()
  .strict();
/** The control payer: no body pays the trade's amount; `amount` pays another. */
const controlPaySchema = z.object({ amount: z.number().int().positive() }).partial().strict();

/** A payment made at the channel console, outside any order paycenter opened. */
const outsidePaymentSchema = z
  .object({
    channel: z.string().min(1),
    outTradeNo: z.string().min(1).max(64),
    amount: z.number().int().positive(),
    currency: z.string().length(3).default('CNY'),
    subject: z.string().min(1).max(256).default('paid outside paycenter'),
  })
  .strict();
/** A refund made at the channel console; `refundNo` defaults to a fresh one. */
const outsideRefundSchema = z
  .object({ amount: z.number().int().positive(), refundNo: z.string().min(1).max(64) })
  .partial({ refundNo: true })
  .strict();

/** What a face's routes serve from: the trades, and statement files handed over whole. */
export interface FaceContext {
  gateway: TradeEngine;
  statementFiles: StatementFiles;
}

/** One channel's protocol in the simulator: its gateway API and its notifications. */
export interface ChannelFace extends NotificationFace {
  channel: string;
  /** Registered in a scope of its own, so it can parse bodies its own way. */
  routes: FastifyPluginAsync<FaceContext>;
}

export interface SimulatorOptions {
  publicUrl: string;
  faces: ChannelFace[];
  log: Logger;
  /** Where the gateway keeps its trades and owed notifications; in memory when absent. */
  journal?: Journal;
}

export function buildSimulator(options: SimulatorOptions): {
  app: FastifyInstance;
  gateway: TradeEngine;
} {
  const gateway = new TradeEngine({
    publicUrl: options.publicUrl,
    faces: new Map(options.faces.map((face) => [face.channel, face])),
    log: options.log,
    journal: options.journal,
  });
  // Requests are not logged one by one: the faces log what matters.
  const loggerInstance: FastifyBaseLogger = options.log.child({ component: 'simulator' });
  const app = Fastify({
    loggerInstance,
    logController: new LogController({ disableRequestLogging: true }),
  });
  const statementFiles = new StatementFiles();
  app.addHook('onClose', async () => {
    gateway.stop();
    await statementFiles.clear();
  });

  // The gateway verifies signatures over the exact bytes, so keep JSON bodies as text.
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) =>
    done(null, body),
  );
  acceptForms(app);

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

  /** Parses an optional JSON control body; none at all (no content-type either) means `{}`. */
  function controlBody<T>(schema: z.ZodType<T>, raw: unknown): T {
    const text = typeof raw === 'string' ? raw.trim() : '';
    return schema.parse(text === '' ? {} : JSON.parse(text));
  }

  app.get('/healthz', async () => ({ status: 'ok' }));

  for (const face of options.faces) app.register(face.routes, { gateway, statementFiles });

  // The payer opens the pay page (scans the QR code).
  app.get<{ Params: { outTradeNo: string } }>('/pay/:outTradeNo', async (req, reply) => {
    const trade = gateway.open(req.params.outTradeNo);
    return sendPage(reply, 'Simulator payment', [
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
  app.post('/control/payments', async (req, reply) => {
    const { channel, ...payment } = controlBody(outsidePaymentSchema, req.body);
    if (!options.faces.some((face) => face.channel === channel)) {
      throw new GatewayError('INVALID_REQUEST', 400, `the simulator has no channel ${channel}`);
    }
    return reply.status(201).send(gateway.payOutside(channel, payment));
  });
  app.post<{ Params: { outTradeNo: string } }>(
    '/control/payments/:outTradeNo/reverse',
    async (req) => gateway.reverse(req.params.outTradeNo),
  );
  app.post<{ Params: { outTradeNo: string } }>(
    '/control/payments/:outTradeNo/refunds',
    async (req, reply) => {
      const { amount, refundNo } = controlBody(outsideRefundSchema, req.body);
      const refund = gateway.refund({
        out_trade_no: req.params.outTradeNo,
        out_request_no: refundNo ?? `CONSOLE${Date.now()}`,
        refund_amount: amount,
      });
      return reply.status(201).send(refund);
    },
  );
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
  // A statement file as the channel serves it (CSV, zip ...), streamed to disk: from now on the
  // channel's statement of that day. Any size: the body is never parsed nor held.
  app.register(async (scope) => {
    scope.addContentTypeParser('application/octet-stream', (_req, payload, done) =>
      done(null, payload),
    );
    scope.put<{ Params: { channel: string; day: string } }>(
      '/control/statements/:channel/:day',
      async (req, reply) => {
        const { channel, day } = req.params;
        if (!options.faces.some((face) => face.channel === channel)) {
          throw new GatewayError('INVALID_REQUEST', 400, `the simulator has no channel ${channel}`);
        }
        if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) {
          throw new GatewayError('INVALID_REQUEST', 400, `day ${day} is not yyyy-MM-dd`);
        }
        if (!(req.body instanceof Readable)) {
          throw new GatewayError(
            'INVALID_REQUEST',
            400,
            'send the file as application/octet-stream',
          );
        }
        const bytes = await statementFiles.store(channel, day, req.body);
        return reply.status(201).send({ channel, day, bytes });
      },
    );
  });
  app.delete('/control/statements', async () => {
    await statementFiles.clear();
    return {};
  });
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
