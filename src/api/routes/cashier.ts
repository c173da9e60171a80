// The payer's cashier page: pick a channel and method, get sent to the channel's pay page.
import type { FastifyPluginAsync } from 'fastify';
import { escapeHtml, sendPage } from '../../html';
import type { ChannelRegistry } from '../../channels/registry';
import { DomainError } from '../../domain/errors';
import { formatMinorUnits, type Currency } from '../../domain/money';
import { idParamSchema, payRequestSchema } from '../../domain/schemas';
import type { PayOrderService } from '../../services/payOrders';
import { parseInput } from '../problems';

export const cashierRoutes: FastifyPluginAsync<{
  payOrders: PayOrderService;
  channels: ChannelRegistry;
}> = async (app, { payOrders, channels }) => {
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string' },
    (_req, body, done) => done(null, Object.fromEntries(new URLSearchParams(String(body)))),
  );

  app.get('/:id', async (req, reply) => {
    const { id } = parseInput(idParamSchema, req.params, 'path');
    const order = await payOrders.get(undefined, id);
    const amount = `${formatMinorUnits(order.amount, order.currency as Currency)} ${order.currency}`;
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
                `<form method="post" action="${order.id}/pay"><input type="hidden" name="channel" value="${c.channel}">` +
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
};
