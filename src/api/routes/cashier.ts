// The payer's cashier page: pick a channel and method, get sent to the channel's pay page. Both
// the page and its pay open only with the cashierUrl's token; pays are rate-limited.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { escapeHtml, sendPage } from '../../html';
import type { ChannelRegistry } from '../../channels/registry';
import { verifyCashierToken, type CashierTokenCheck } from '../../domain/cashierTokens';
import { DomainError } from '../../domain/errors';
import { formatMinorUnits } from '../../domain/money';
import type { PayOrderService } from '../../services/payOrders';
import { createMinuteLimiter } from '../minuteLimiter';
import { parseInput, problemResponses, sendProblem } from '../problems';
import { idParamSchema, payRequestSchema } from '../schemas/payOrders';

const refusals: Record<Exclude<CashierTokenCheck, 'VALID'>, string> = {
  MISSING: 'the cashier link carries no token; open the cashierUrl the merchant was given',
  FORGED: 'the cashier token is not valid for this pay order',
  EXPIRED: 'the cashier token has expired with its pay order',
};

/** The token is read as it came: anything but one string is no token (403, never 400). */
const tokenQuerySchema = z.object({
  token: z
    .string()
    .optional()
    .catch(undefined)
    .meta({ description: 'The token of the cashierUrl the merchant API answered' }),
});

const htmlPage = (description: string) => ({
  description,
  content: { 'text/html': { schema: z.string() } },
});

const tags = ['Cashier'];

function tokenOf(req: FastifyRequest): string | undefined {
  const { token } = req.query as { token?: unknown };
  return typeof token === 'string' ? token : undefined;
}

export const cashierRoutes: FastifyPluginAsyncZod<{
  payOrders: PayOrderService;
  channels: ChannelRegistry;
  cashier: { tokenSecret: string; payLimitPerMinute: number };
}> = async (app, { payOrders, channels, cashier }) => {
  // Every cashier pay is a workflow Update: bounded per pay order and per payer's address.
  const payLimiter = createMinuteLimiter(cashier.payLimitPerMinute);
  const checkToken = (id: string, req: FastifyRequest) =>
    verifyCashierToken(cashier.tokenSecret, id, tokenOf(req), new Date());

  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string' },
    (_req, body, done) => done(null, Object.fromEntries(new URLSearchParams(String(body)))),
  );

  app.get(
    '/:id',
    {
      schema: {
        operationId: 'cashierPage',
        summary: "The payer's cashier page: the order and a button per channel and method",
        tags,
        security: [],
        params: idParamSchema,
        querystring: tokenQuerySchema,
        response: {
          200: htmlPage('The cashier page'),
          403: htmlPage('The link is not valid: no token, a forged one, or expired'),
          ...problemResponses(400, 404),
        },
      },
    },
    async (req, reply) => {
      const { id } = req.params;
      const check = checkToken(id, req);
      if (check !== 'VALID') {
        return sendPage(reply.status(403), 'paycenter cashier', [
          `<p id="status">This payment link is not valid (${escapeHtml(refusals[check])}). Ask the merchant for a new one.</p>`,
        ]);
      }
      const payAction = `${id}/pay?token=${encodeURIComponent(tokenOf(req)!)}`;
      const order = await payOrders.get(undefined, id);
      const amount = `${formatMinorUnits(order.amount, order.currency)} ${order.currency}`;
      const choices =
        order.status === 'CREATED' || order.status === 'PAYING'
          ? [...channels.values()]
              .flatMap((c) =>
                c.methods
                  // The cashier page does not know the payer at the channel.
                  .filter((m) => !c.methodsNeedingPayer?.includes(m))
                  .map((m) => ({ channel: c.name, method: m })),
              )
              .map(
                (c) =>
                  `<form method="post" action="${escapeHtml(payAction)}"><input type="hidden" name="channel" value="${c.channel}">` +
                  `<input type="hidden" name="method" value="${c.method}"><button>Pay with ${c.channel} (${c.method})</button></form>`,
              )
              .join('')
          : '';
      return sendPage(reply, 'paycenter cashier', [
        `<h1>${escapeHtml(order.subject)}</h1>`,
        `<p id="amount">${amount}</p>`,
        `<p>Status: <strong id="status">${order.status}</strong></p>`,
        choices,
      ]);
    },
  );

  app.post(
    '/:id/pay',
    {
      schema: {
        operationId: 'cashierPay',
        summary: "The cashier page's pay: opens a channel order and sends the payer to it",
        description:
          'Limited per pay order and per client address (CASHIER_PAY_LIMIT_PER_MINUTE); only ' +
          'requests that hold the order’s token count against the order.',
        tags,
        security: [],
        consumes: ['application/x-www-form-urlencoded', 'application/json'],
        params: idParamSchema,
        querystring: tokenQuerySchema,
        body: payRequestSchema,
        response: {
          200: htmlPage('The channel order’s status, for a channel with no pay page'),
          303: z.undefined().meta({ description: "To the channel's pay page" }),
          409: htmlPage('The pay was refused (paid, closed, ...)'),
          ...problemResponses(400, 403, 404, 429),
        },
      },
      // Before the body is validated, as before schemas: the rate limits count every try, and a
      // request without a valid token is refused whatever it sends.
      preValidation: async (req, reply) => {
        const { id } = parseInput(idParamSchema, req.params, 'path');
        // The address counts every try, valid or not; the order only tries that hold its token,
        // so a stranger cannot use up a payer's pays.
        const addressRetry = payLimiter.hit(`address:${req.ip}`);
        if (addressRetry > 0) return payLimited(reply, addressRetry, 'client address');
        const check = checkToken(id, req);
        if (check !== 'VALID') {
          return sendProblem(reply, 403, 'CASHIER_TOKEN_INVALID', refusals[check]);
        }
        const orderRetry = payLimiter.hit(`payOrder:${id}`);
        if (orderRetry > 0) return payLimited(reply, orderRetry, 'pay order');
      },
    },
    async (req, reply) => {
      const { id } = req.params;
      try {
        const { attempt } = await payOrders.pay(undefined, id, req.body);
        if (attempt.payUrl) return reply.redirect(attempt.payUrl, 303);
        return sendPage(reply, 'paycenter cashier', [`<p id="status">${attempt.status}</p>`]);
      } catch (err) {
        if (!(err instanceof DomainError)) throw err;
        return sendPage(reply.status(409), 'paycenter cashier', [
          `<p id="status">${escapeHtml(err.message)}</p>`,
        ]);
      }
    },
  );

  function payLimited(reply: FastifyReply, retryAfterSeconds: number, per: string) {
    return sendProblem(
      reply.header('retry-after', String(retryAfterSeconds)),
      429,
      'CASHIER_PAY_RATE_LIMITED',
      `cashier pay limit of ${cashier.payLimitPerMinute} requests a minute per ${per} reached ` +
        `(CASHIER_PAY_LIMIT_PER_MINUTE); retry in ${retryAfterSeconds} s`,
    );
  }
};
