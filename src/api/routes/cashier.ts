// The payer's cashier: the page (and the same page as the channel's return), the order's state for
// its script, the pay and the "I have paid" sync. Every route opens only with the cashierUrl's
// token; once the order has expired the token still shows the order but pays nothing. Pays and
// syncs are workflow Updates: rate-limited. Nothing here may be cached: a stale page offering to
// pay a paid order is how the second payment starts.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ChannelRegistry } from '../../channels/registry';
import { verifyCashierToken, type CashierTokenCheck } from '../../domain/cashierTokens';
import { DomainError } from '../../domain/errors';
import { payStatuses } from '../../domain/payOrder';
import type { PayerView, PayOrderService } from '../../services/payOrders';
import { channelName, fill, messagesIn, pickLanguage, type Language } from '../cashier/messages';
import {
  orderState,
  renderCashierPage,
  renderInvalidLink,
  renderNotice,
  type PayChoice,
} from '../cashier/pages';
import { qrCodeSvg } from '../cashier/qrCode';
import { acceptForms } from '../../html';
import { createMinuteLimiter } from '../minuteLimiter';
import { parseInput, problemResponses, sendProblem } from '../problems';
import { htmlPage } from '../schemas/pages';
import { idParamSchema, payRequestSchema } from '../schemas/payOrders';

const refusals: Record<Exclude<CashierTokenCheck, 'VALID'>, string> = {
  MISSING: 'the cashier link carries no token; open the cashierUrl the merchant was given',
  FORGED: 'the cashier token is not valid for this pay order',
  EXPIRED: 'the cashier token has expired with its pay order',
};

/** The token and the rest are read as they came: anything but one string is absent (403, never 400). */
const looseText = z.string().optional().catch(undefined);
const cashierQuerySchema = z.object({
  token: looseText.meta({ description: 'The token of the cashierUrl the merchant API answered' }),
  lang: looseText.meta({ description: 'The page language: zh-CN or en (else Accept-Language)' }),
  payerId: looseText.meta({
    description: "The payer's ID at the channel (WeChat openid), for in-app methods",
  }),
});
type CashierQuery = z.infer<typeof cashierQuerySchema>;
/** A request of a cashier route: its query as `querystring: cashierQuerySchema` has validated it. */
type CashierRequest = FastifyRequest & { query: CashierQuery };

/** An expired token (under a valid signature) still shows its order; only a valid one pays. */
const showsOrder = (check: CashierTokenCheck): check is 'VALID' | 'EXPIRED' =>
  check === 'VALID' || check === 'EXPIRED';

const payerViewSchema = z
  .object({
    state: z.enum(['payable', 'paid', 'expired', 'closed']),
    status: z.enum(payStatuses),
    expiresAt: z.string(),
    latestAttempt: z
      .object({ channel: z.string(), method: z.string(), status: z.string() })
      .nullable(),
  })
  .meta({ id: 'CashierView', description: "The order's state as its cashier page sees it" });

const handOffSchema = z
  .object({
    handOff: z.enum(['redirect', 'qr', 'paySheet', 'direct']),
    status: z.string(),
    payUrl: z.string().optional(),
    qrSvg: z.string().optional(),
    payParams: z.record(z.string(), z.string()).optional(),
  })
  .meta({ id: 'CashierHandOff', description: 'How the page takes the payer to the channel' });

const tags = ['Cashier'];
const assetsDir = path.join(__dirname, '..', 'cashier', 'assets');
const asset = (name: string, type: string) => ({
  type,
  body: readFileSync(path.join(assetsDir, name), 'utf8'),
});
const assets: Record<string, { type: string; body: string }> = {
  'cashier.js': asset('cashier.js', 'text/javascript; charset=utf-8'),
  'cashier.css': asset('cashier.css', 'text/css; charset=utf-8'),
};

/** The cashier's JSON for its script. */
function viewOf(order: PayerView, now: Date) {
  return {
    state: orderState(order, now),
    status: order.status,
    expiresAt: order.expiresAt,
    latestAttempt: order.latestAttempt,
  };
}

/** The query that opens the order again: its token, and the payer's ID when one came. */
function accessOf(query: CashierQuery): URLSearchParams {
  const access = new URLSearchParams({ token: query.token ?? '' });
  if (query.payerId) access.set('payerId', query.payerId);
  return access;
}

const insideWeChat = (req: FastifyRequest) =>
  /MicroMessenger/i.test(req.headers['user-agent'] ?? '');

export const cashierRoutes: FastifyPluginAsyncZod<{
  payOrders: PayOrderService;
  channels: ChannelRegistry;
  cashier: { tokenSecret: string; payLimitPerMinute: number; publicUrl: string };
}> = async (app, { payOrders, channels, cashier }) => {
  // Every cashier pay and sync is a workflow Update: bounded per pay order and per payer's address.
  const payLimiter = createMinuteLimiter(cashier.payLimitPerMinute);
  const checkToken = (id: string, query: CashierQuery) =>
    verifyCashierToken(cashier.tokenSecret, id, query.token, new Date());
  const languageOf = (req: CashierRequest): Language =>
    pickLanguage(req.query.lang, req.headers['accept-language']);

  /** The methods this payer can use here: in-app ones only inside the app, with the payer known. */
  function choicesFor(req: CashierRequest, order: PayerView): PayChoice[] {
    const payerKnown = Boolean(req.query.payerId) && insideWeChat(req);
    return [...channels.values()]
      .filter((c) => c.currencies.includes(order.currency))
      .flatMap((c) =>
        c.methods
          .filter((m) => !c.methodsNeedingPayer?.includes(m) || payerKnown)
          .map((m) => ({ channel: c.name, method: m, handOff: c.handOffs[m] ?? 'redirect' })),
      );
  }

  acceptForms(app);
  app.addHook('onSend', async (req, reply) => {
    if (!req.url.startsWith('/cashier/assets/')) reply.header('cache-control', 'no-store');
  });

  /** A page that opens with a token the order signed, expired or not; else the invalid page. */
  async function openPage(id: string, req: CashierRequest, reply: FastifyReply) {
    const check = checkToken(id, req.query);
    if (!showsOrder(check)) {
      reply
        .status(403)
        .type('text/html; charset=utf-8')
        .send(renderInvalidLink(languageOf(req)));
      return undefined;
    }
    return payOrders.payerView(id);
  }

  /** The JSON routes open like the pages; a refused token is a problem. */
  function openJson(id: string, req: CashierRequest, reply: FastifyReply) {
    const check = checkToken(id, req.query);
    if (!showsOrder(check)) {
      sendProblem(reply, 403, 'CASHIER_TOKEN_INVALID', refusals[check]);
      return false;
    }
    return true;
  }

  function sendPage(
    req: CashierRequest,
    reply: FastifyReply,
    order: PayerView,
    mode: 'choose' | 'result',
  ) {
    return reply.type('text/html; charset=utf-8').send(
      renderCashierPage({
        order,
        access: accessOf(req.query),
        language: languageOf(req),
        mode,
        choices: choicesFor(req, order),
        now: new Date(),
      }),
    );
  }

  const pages = [
    {
      url: '/:id',
      mode: 'choose',
      operationId: 'cashierPage',
      summary:
        "The payer's cashier page: the order, time left, and a choice per channel and method",
    },
    {
      url: '/:id/result',
      mode: 'result',
      operationId: 'cashierResult',
      summary:
        'Where the channel sends the payer back: the outcome, and the way back to the merchant',
    },
  ] as const;
  for (const { url, mode, operationId, summary } of pages) {
    app.get(
      url,
      {
        schema: {
          operationId,
          summary,
          tags,
          security: [],
          params: idParamSchema,
          querystring: cashierQuerySchema,
          response: {
            200: htmlPage('The cashier page'),
            403: htmlPage('The link is not valid: no token, or a forged one'),
            ...problemResponses(400, 404),
          },
        },
      },
      async (req, reply) => {
        const order = await openPage(req.params.id, req, reply);
        if (order) return sendPage(req, reply, order, mode);
      },
    );
  }

  app.get(
    '/:id/view',
    {
      schema: {
        operationId: 'cashierView',
        summary:
          "The order's state for the cashier page's script (checked on load, back and focus)",
        tags,
        security: [],
        params: idParamSchema,
        querystring: cashierQuerySchema,
        response: { 200: payerViewSchema, ...problemResponses(400, 403, 404) },
      },
    },
    async (req, reply) => {
      if (!openJson(req.params.id, req, reply)) return reply;
      return viewOf(await payOrders.payerView(req.params.id), new Date());
    },
  );

  app.post(
    '/:id/sync',
    {
      schema: {
        operationId: 'cashierSync',
        summary: '"I have paid": asks the channel now, then answers the order\'s state',
        tags,
        security: [],
        params: idParamSchema,
        querystring: cashierQuerySchema,
        response: { 200: payerViewSchema, ...problemResponses(400, 403, 404, 429, 503) },
      },
      preValidation: (req, reply) => limitUpdates(req, reply),
    },
    async (req) => viewOf(await payOrders.payerSync(req.params.id), new Date()),
  );

  app.post(
    '/:id/pay',
    {
      schema: {
        operationId: 'cashierPay',
        summary: "The cashier page's pay: opens a channel order (or answers the open one)",
        description:
          'JSON in, JSON out for the page’s script: how to take the payer to the channel. A form ' +
          '(the page without script) is answered with a redirect to the channel’s page or a page ' +
          'with the QR code. Limited per pay order and per client address ' +
          '(CASHIER_PAY_LIMIT_PER_MINUTE); only requests that hold the order’s token count against ' +
          'the order.',
        tags,
        security: [],
        consumes: ['application/json', 'application/x-www-form-urlencoded'],
        params: idParamSchema,
        querystring: cashierQuerySchema,
        body: payRequestSchema,
        response: {
          200: {
            description: 'The hand-off (JSON), or a page with the QR code or the outcome (form)',
            content: {
              'application/json': { schema: handOffSchema },
              'text/html': { schema: z.string() },
            },
          },
          303: z.undefined().meta({ description: "To the channel's pay page (form)" }),
          409: htmlPage('The pay was refused: paid, closed, ... (form)'),
          ...problemResponses(400, 403, 404, 409, 429, 502, 503),
        },
      },
      preValidation: (req, reply) => limitUpdates(req, reply, { mustBeUnexpired: true }),
    },
    async (req, reply) => {
      const { id } = req.params;
      const query = req.query;
      const fromScript = (req.headers['content-type'] ?? '').startsWith('application/json');
      const language = languageOf(req);
      const channel = channels.get(req.body.channel);
      const method = req.body.method ?? channel?.methods[0] ?? '';
      const handOff = channel?.handOffs[method] ?? 'redirect';
      const request = {
        ...req.body,
        method,
        // Back from the channel's page to ours, which checks the outcome before anything else.
        returnUrl: `${cashier.publicUrl}/cashier/${id}/result?${accessOf(query).toString()}&lang=${language}`,
        ...(query.payerId && !req.body.payerId ? { payerId: query.payerId } : {}),
      };
      if (fromScript) {
        const { attempt } = await payOrders.pay(undefined, id, request);
        return {
          handOff,
          status: attempt.status,
          ...(attempt.payUrl ? { payUrl: attempt.payUrl } : {}),
          ...(handOff === 'qr' && attempt.payUrl ? { qrSvg: await qrCodeSvg(attempt.payUrl) } : {}),
          ...('payParams' in attempt && attempt.payParams ? { payParams: attempt.payParams } : {}),
        };
      }
      const order = await payOrders.payerView(id);
      const page = { order, access: accessOf(query), language };
      const text = messagesIn(language);
      try {
        const { attempt } = await payOrders.pay(undefined, id, request);
        if (handOff === 'redirect' && attempt.payUrl) return reply.redirect(attempt.payUrl, 303);
        const notice =
          handOff === 'qr' && attempt.payUrl
            ? {
                message: fill(text.scanWith, { channel: channelName(language, req.body.channel) }),
                qrSvg: await qrCodeSvg(attempt.payUrl),
              }
            : { message: attempt.status };
        return reply.type('text/html; charset=utf-8').send(renderNotice(page, notice));
      } catch (err) {
        if (!(err instanceof DomainError)) throw err;
        return reply
          .status(409)
          .type('text/html; charset=utf-8')
          .send(renderNotice(page, { message: fill(text.cannotStart, { reason: err.message }) }));
      }
    },
  );

  app.get(
    '/assets/:file',
    {
      schema: {
        operationId: 'cashierAsset',
        summary:
          "The cashier page's script and style sheet (served from here: nothing loads from elsewhere)",
        tags,
        security: [],
        params: z.object({ file: z.enum(['cashier.js', 'cashier.css']) }),
        response: {
          200: {
            description: 'The file',
            content: {
              'text/javascript': { schema: z.string() },
              'text/css': { schema: z.string() },
            },
          },
          ...problemResponses(400),
        },
      },
    },
    async (req, reply) => {
      const asset = assets[req.params.file]!;
      return reply.type(asset.type).header('cache-control', 'public, max-age=300').send(asset.body);
    },
  );

  /**
   * Before the body is validated, as before schemas: the rate limits count every try, and a
   * request without a valid token is refused whatever it sends.
   */
  async function limitUpdates(
    req: FastifyRequest,
    reply: FastifyReply,
    { mustBeUnexpired = false } = {},
  ) {
    // A preValidation hook: the path and the query are read here as their schemas would.
    const { id } = parseInput(idParamSchema, req.params, 'path');
    const query = parseInput(cashierQuerySchema, req.query, 'query');
    // The address counts every try, valid or not; the order only tries that hold its token, so a
    // stranger cannot use up a payer's pays.
    const addressRetry = payLimiter.hit(`address:${req.ip}`);
    if (addressRetry > 0) return updatesLimited(reply, addressRetry, 'client address');
    const check = checkToken(id, query);
    if (check !== 'VALID' && (mustBeUnexpired || !showsOrder(check))) {
      return sendProblem(reply, 403, 'CASHIER_TOKEN_INVALID', refusals[check]);
    }
    const orderRetry = payLimiter.hit(`payOrder:${id}`);
    if (orderRetry > 0) return updatesLimited(reply, orderRetry, 'pay order');
  }

  function updatesLimited(reply: FastifyReply, retryAfterSeconds: number, per: string) {
    return sendProblem(
      reply.header('retry-after', String(retryAfterSeconds)),
      429,
      'CASHIER_PAY_RATE_LIMITED',
      `cashier pay limit of ${cashier.payLimitPerMinute} requests a minute per ${per} reached ` +
        `(CASHIER_PAY_LIMIT_PER_MINUTE); retry in ${retryAfterSeconds} s`,
    );
  }
};
