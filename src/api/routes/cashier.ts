// The payer's cashier page: pick a channel and method, get sent to the channel's pay page. Both
// the page and its pay open only with the cashierUrl's token; pays are rate-limited.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { escapeHtml, sendPage } from '../../html';
import type { ChannelRegistry } from '../../channels/registry';
import { verifyCashierToken, type CashierTokenCheck } from '../../domain/cashierTokens';
import { DomainError } from '../../domain/errors';
import { formatMinorUnits } from '../../domain/money';
import { idParamSchema, payRequestSchema } from '../../domain/schemas';
import type { PayOrderService } from '../../services/payOrders';
import { createMinuteLimiter } from '../minuteLimiter';
import { parseInput, sendProblem } from '../problems';

const refusals: Record<Exclude<CashierTokenCheck, 'VALID'>, string> = {
  MISSING: 'the cashier link carries no token; open the cashierUrl the merchant was given',
  FORGED: 'the cashier token is not valid for this pay order',
  EXPIRED: 'the cashier token has expired with its pay order',
};

function tokenOf(req: FastifyRequest): string | undefined {
  const { token } = req.query as { token?: unknown };
  return typeof token === 'string' ? token : undefined;
}

export const cashierRoutes: FastifyPluginAsync<{
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

  app.get('/:id', async (req, reply) => {
    const { id } = parseInput(idParamSchema, req.params, 'path');
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
  });

  app.post('/:id/pay', async (req, reply) => {
    const { id } = parseInput(idParamSchema, req.params, 'path');
    // The address counts every try, valid or not; the order only tries that hold its token, so a
    // stranger cannot use up a payer's pays.
    const addressRetry = payLimiter.hit(`address:${req.ip}`);
    if (addressRetry > 0) return payLimited(reply, addressRetry, 'client address');
    const check = checkToken(id, req);
    if (check !== 'VALID') return sendProblem(reply, 403, 'CASHIER_TOKEN_INVALID', refusals[check]);
    const orderRetry = payLimiter.hit(`payOrder:${id}`);
    if (orderRetry > 0) return payLimited(reply, orderRetry, 'pay order');
    const choice = parseInput(payRequestSchema, req.body, 'body');
    try {
      const { attempt } = await payOrders.pay(undefined, id, choice);
      if (attempt.payUrl) return reply.redirect(attempt.payUrl, 303);
      return sendPage(reply, 'paycenter cashier', [`<p id="status">${attempt.status}</p>`]);
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      return sendPage(reply.status(409), 'paycenter cashier', [
        `<p id="status">${escapeHtml(err.message)}</p>`,
      ]);
    }
  });

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
