// Payment traffic as merchants and payers make it: each order follows one scenario, drawn from its
// own seeded stream, over the merchant API (both processes), the payer's pages and the sandbox's
// control API (the payer who pays late or another amount, and a channel's per-trade faults).
import type { Random } from './random';
import { exchange, type Answer, type MerchantClient, type MerchantReceiver } from './merchant';

/** Weights of the scenarios in the mix. */
export const scenarioWeights = {
  plain: 14,
  abandoned: 6,
  merchantClose: 6,
  lateAfterClose: 5,
  lateAfterExpiry: 5,
  duplicatePayment: 7,
  lostNotifications: 6,
  repeatedNotifications: 4,
  reorderedNotifications: 4,
  delayedNotifications: 3,
  queryOutage: 5,
  refunds: 12,
  concurrentRefunds: 6,
  syncWhilePaying: 5,
  merchantEndpointDown: 6,
  otherAmount: 3,
  doubleClick: 4,
} as const;
export type ScenarioName = keyof typeof scenarioWeights;

/** Scenarios where the order is meant to end flagged NeedsAttention. */
export const intendsAttention: ReadonlySet<ScenarioName> = new Set(['otherAmount']);

const channelMethods = [
  ['sandbox', 'page'],
  ['sandbox', 'qr'],
  ['alipay', 'page'],
  ['alipay', 'qr'],
  ['wechatpay', 'native'],
  ['bankcard', 'quick'],
] as const;
/** A channel where the payer acts on a page (bank-card quick pay is paid by the pay request). */
const payerChannels = channelMethods.filter(([channel]) => channel !== 'bankcard');
/** Scenarios that make sense on bank-card quick pay too; the others need a payer on a page. */
const cardScenarios: ReadonlySet<ScenarioName> = new Set([
  'plain',
  'refunds',
  'concurrentRefunds',
  'syncWhilePaying',
  'merchantEndpointDown',
  'doubleClick',
  'merchantClose',
]);

export interface Attempt {
  id: string;
  outTradeNo: string;
  channel: string;
  status: string;
  payUrl?: string;
}

export interface OrderRecord {
  n: number;
  scenario: ScenarioName;
  merchantId: string;
  channel: string;
  method: string;
  amount: number;
  expiresInSeconds: number;
  payOrderId?: string;
  startedAt: number;
  endedAt?: number;
  /** What the script did, in order: the evidence next to a violation. */
  steps: string[];
  /** The script could not do what it meant to (the API never answered, ...): a finding too. */
  failure?: string;
}

export interface ScenarioContext {
  merchant: MerchantClient;
  receiver: MerchantReceiver;
  sandboxUrl: string;
  random: Random;
  record: OrderRecord;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

class ScriptFailure extends Error {}

function expectStatus(answer: Answer, allowed: number[], what: string): Answer {
  if (!allowed.includes(answer.status)) {
    throw new ScriptFailure(
      `${what}: HTTP ${answer.status} ${JSON.stringify(answer.body).slice(0, 300)}`,
    );
  }
  return answer;
}

/** Calls the sandbox (the payer's side, the channel's control), retrying while it is down. */
async function sandboxCall(ctx: ScenarioContext, method: string, path: string, body?: unknown) {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const answer = await exchange(`${ctx.sandboxUrl}${path}`, method, body, {}, 10_000);
    if ((answer.status !== 0 && answer.status < 500) || Date.now() > deadline) return answer;
    await sleep(1000);
  }
}

const note = (ctx: ScenarioContext, step: string) =>
  ctx.record.steps.push(`${((Date.now() - ctx.record.startedAt) / 1000).toFixed(1)}s ${step}`);

async function createOrder(ctx: ScenarioContext): Promise<string> {
  const { record } = ctx;
  const answer = expectStatus(
    await ctx.merchant.call('POST', '/v1/pay-orders', {
      merchantOrderNo: `chaos-${record.n}-${record.scenario}`,
      amount: record.amount,
      currency: 'CNY',
      subject: `chaos ${record.scenario}`,
      expiresInSeconds: record.expiresInSeconds,
      notifyUrl: ctx.receiver.notifyUrl,
    }),
    [200, 201],
    'create pay order',
  );
  record.payOrderId = answer.body.id as string;
  note(ctx, `created ${record.payOrderId}`);
  return record.payOrderId;
}

/** The merchant's pay request; a refusal (409, 402) is an answer, not a failure of the script. */
async function payRequest(ctx: ScenarioContext, channel: string, method: string) {
  const answer = expectStatus(
    await ctx.merchant.call('POST', `/v1/pay-orders/${ctx.record.payOrderId}/pay`, {
      channel,
      method,
    }),
    [200, 402, 409],
    `pay by ${channel}/${method}`,
  );
  const attempt = answer.status === 200 ? (answer.body.attempt as Attempt) : undefined;
  note(
    ctx,
    attempt
      ? `pay ${channel}/${method}: ${attempt.outTradeNo} ${attempt.status}`
      : `pay ${channel}/${method}: ${answer.status} ${answer.body?.code}`,
  );
  return attempt;
}

/** The payer opens the pay page (scans the QR code): some channels create the trade only then. */
async function payerOpens(ctx: ScenarioContext, attempt: Attempt) {
  if (!attempt.payUrl) return;
  const deadline = Date.now() + 60_000;
  for (;;) {
    const answer = await exchange(attempt.payUrl, 'GET', undefined, {}, 10_000);
    if ((answer.status !== 0 && answer.status < 500) || Date.now() > deadline) return;
    await sleep(1000);
  }
}

/** The payer pays on the page (refused once closed or expired). */
async function payerPays(ctx: ScenarioContext, attempt: Attempt) {
  if (attempt.channel === 'bankcard') return; // paid by the pay request itself
  await payerOpens(ctx, attempt);
  const answer = await sandboxCall(ctx, 'POST', `/pay/${encodeURIComponent(attempt.outTradeNo)}`);
  note(ctx, `payer pays ${attempt.outTradeNo}: ${answer.status}`);
}

/** A payer the channel lets pay whatever the state (a late payment), or pay another amount. */
async function payerForces(ctx: ScenarioContext, attempt: Attempt, amount?: number) {
  await payerOpens(ctx, attempt);
  const answer = await sandboxCall(
    ctx,
    'POST',
    `/control/payments/${encodeURIComponent(attempt.outTradeNo)}/pay`,
    amount === undefined ? undefined : { amount },
  );
  note(
    ctx,
    `payer forces ${attempt.outTradeNo}${amount ? ` amount ${amount}` : ''}: ${answer.status}`,
  );
}

async function tradeFaults(
  ctx: ScenarioContext,
  attempt: Attempt,
  faults: Record<string, unknown>,
) {
  await payerOpens(ctx, attempt); // the trade must exist at the sandbox
  const answer = await sandboxCall(
    ctx,
    'POST',
    `/control/payments/${encodeURIComponent(attempt.outTradeNo)}/faults`,
    faults,
  );
  note(ctx, `channel faults ${JSON.stringify(faults)}: ${answer.status}`);
}

async function clearTradeFaults(ctx: ScenarioContext, attempt: Attempt) {
  const path = `/control/payments/${encodeURIComponent(attempt.outTradeNo)}/faults`;
  note(ctx, `channel faults cleared: ${(await sandboxCall(ctx, 'DELETE', path)).status}`);
}

async function view(ctx: ScenarioContext) {
  return expectStatus(
    await ctx.merchant.call('GET', `/v1/pay-orders/${ctx.record.payOrderId}`),
    [200],
    'read pay order',
  ).body;
}

/** The merchant waits (polling) for a status; answers the last view either way. */
async function waitForStatus(ctx: ScenarioContext, status: string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const current = await view(ctx);
    if (current.status === status || Date.now() > deadline) {
      note(
        ctx,
        `status ${current.status}${current.status === status ? '' : ` (waited for ${status})`}`,
      );
      return current;
    }
    await sleep(1000);
  }
}

async function merchantCloses(ctx: ScenarioContext) {
  // A close the channel cannot confirm answers 409 CHANNEL_UNAVAILABLE: the merchant tries again.
  for (let tries = 0; tries < 5; tries++) {
    const answer = expectStatus(
      await ctx.merchant.call('POST', `/v1/pay-orders/${ctx.record.payOrderId}/close`),
      [200, 409, 503],
      'close',
    );
    note(ctx, `merchant close: ${answer.status} ${answer.body?.code ?? answer.body?.status ?? ''}`);
    if (answer.status === 200 || answer.body?.code !== 'CHANNEL_UNAVAILABLE') return answer;
    await sleep(3000);
  }
}

async function merchantSyncs(ctx: ScenarioContext) {
  const answer = await ctx.merchant.call('POST', `/v1/pay-orders/${ctx.record.payOrderId}/sync`);
  note(ctx, `merchant sync: ${answer.status} ${answer.body?.status ?? answer.body?.code ?? ''}`);
}

async function refund(ctx: ScenarioContext, amount: number, no: string) {
  const answer = expectStatus(
    await ctx.merchant.call('POST', '/v1/refunds', {
      payOrderId: ctx.record.payOrderId,
      merchantRefundNo: no,
      amount,
    }),
    [200, 201, 409, 422],
    'refund',
  );
  note(
    ctx,
    `refund ${no} of ${amount}: ${answer.status} ${answer.body?.status ?? answer.body?.code}`,
  );
  return answer;
}

function otherChannel(ctx: ScenarioContext, channel: string) {
  return ctx.random.pick(channelMethods.filter(([c]) => c !== channel));
}

/** Create, pay, payer pays: the common opening. */
async function paidOrder(ctx: ScenarioContext) {
  await createOrder(ctx);
  const attempt = await payRequest(ctx, ctx.record.channel, ctx.record.method);
  if (attempt) await payerPays(ctx, attempt);
  return attempt;
}

const scripts: Record<ScenarioName, (ctx: ScenarioContext) => Promise<void>> = {
  plain: async (ctx) => void (await paidOrder(ctx)),
  abandoned: async (ctx) => {
    await createOrder(ctx);
    const attempt = await payRequest(ctx, ctx.record.channel, ctx.record.method);
    if (attempt) await payerOpens(ctx, attempt);
  },
  merchantClose: async (ctx) => {
    await createOrder(ctx);
    await payRequest(ctx, ctx.record.channel, ctx.record.method);
    await sleep(ctx.random.int(0, 3000));
    await merchantCloses(ctx);
  },
  lateAfterClose: async (ctx) => {
    await createOrder(ctx);
    const attempt = await payRequest(ctx, ctx.record.channel, ctx.record.method);
    if (attempt) await payerOpens(ctx, attempt);
    await merchantCloses(ctx);
    await sleep(ctx.random.int(0, 5000));
    if (attempt) await payerForces(ctx, attempt);
  },
  lateAfterExpiry: async (ctx) => {
    await createOrder(ctx);
    const attempt = await payRequest(ctx, ctx.record.channel, ctx.record.method);
    if (!attempt) return;
    await payerOpens(ctx, attempt);
    await sleep((ctx.record.expiresInSeconds + ctx.random.int(0, 8)) * 1000);
    await payerForces(ctx, attempt);
  },
  duplicatePayment: async (ctx) => {
    await createOrder(ctx);
    const first = await payRequest(ctx, ctx.record.channel, ctx.record.method);
    if (first) await payerOpens(ctx, first);
    // The payer changes their mind: another channel (the first is closed at the channel first),
    // pays it, and then also pays the first one, which the channel lets through.
    const [channel, method] = otherChannel(ctx, ctx.record.channel);
    const second = await payRequest(ctx, channel, method);
    if (second) await payerPays(ctx, second);
    if (first) await payerForces(ctx, first);
  },
  lostNotifications: async (ctx) => withTradeFaults(ctx, { dropNotifications: true }),
  repeatedNotifications: async (ctx) => withTradeFaults(ctx, { duplicateNotifications: true }),
  reorderedNotifications: async (ctx) => withTradeFaults(ctx, { reorderNotifications: true }),
  delayedNotifications: async (ctx) =>
    withTradeFaults(ctx, { delayNotificationsMs: ctx.random.int(2000, 20_000) }),
  queryOutage: async (ctx) => {
    await createOrder(ctx);
    const attempt = await payRequest(ctx, ctx.record.channel, ctx.record.method);
    if (!attempt || attempt.channel === 'bankcard') return;
    const slow = ctx.random.chance(0.5);
    await tradeFaults(ctx, attempt, {
      dropNotifications: true,
      ...(slow ? { slowQueriesMs: 5000 } : { failQueries: true }),
    });
    await payerPays(ctx, attempt);
    await sleep(ctx.random.int(5000, 25_000));
    await clearTradeFaults(ctx, attempt);
  },
  refunds: async (ctx) => {
    const attempt = await paidOrder(ctx);
    if (!attempt) return;
    if (attempt.channel !== 'bankcard' && ctx.random.chance(0.3)) {
      await tradeFaults(ctx, attempt, { slowRefunds: true });
    }
    if ((await waitForStatus(ctx, 'SUCCEEDED', 60_000)).status !== 'SUCCEEDED') return;
    let left = ctx.record.amount;
    for (let i = 1; i <= ctx.random.int(1, 3) && left > 0; i++) {
      const amount = ctx.random.chance(0.3) ? left : ctx.random.int(1, left);
      const answer = await refund(ctx, amount, `r${ctx.record.n}-${i}`);
      if (answer.status === 200 || answer.status === 201) left -= amount;
      if (ctx.random.chance(0.3)) await refund(ctx, amount, `r${ctx.record.n}-${i}`); // repeated
    }
  },
  concurrentRefunds: async (ctx) => {
    const attempt = await paidOrder(ctx);
    if (!attempt) return;
    if ((await waitForStatus(ctx, 'SUCCEEDED', 60_000)).status !== 'SUCCEEDED') return;
    // Two to four refunds at once whose sum may exceed the payment: some must be refused.
    const count = ctx.random.int(2, 4);
    const amounts = Array.from({ length: count }, () =>
      ctx.random.int(1, Math.ceil((ctx.record.amount * 2) / count)),
    );
    await Promise.all(amounts.map((amount, i) => refund(ctx, amount, `c${ctx.record.n}-${i}`)));
  },
  syncWhilePaying: async (ctx) => {
    await createOrder(ctx);
    const attempt = await payRequest(ctx, ctx.record.channel, ctx.record.method);
    if (!attempt) return;
    if (attempt.channel !== 'bankcard') {
      await tradeFaults(ctx, attempt, { dropNotifications: true });
    }
    await merchantSyncs(ctx);
    await payerPays(ctx, attempt);
    await Promise.all([merchantSyncs(ctx), merchantSyncs(ctx)]);
  },
  merchantEndpointDown: async (ctx) => {
    await createOrder(ctx);
    ctx.receiver.failUntil(ctx.record.payOrderId!, Date.now() + ctx.random.int(10_000, 40_000));
    note(ctx, 'merchant endpoint fails for a while');
    const attempt = await payRequest(ctx, ctx.record.channel, ctx.record.method);
    if (attempt) await payerPays(ctx, attempt);
  },
  otherAmount: async (ctx) => {
    await createOrder(ctx);
    const attempt = await payRequest(ctx, ctx.record.channel, ctx.record.method);
    if (!attempt) return;
    const delta = ctx.random.int(1, 500) * (ctx.random.chance(0.5) ? 1 : -1);
    await payerForces(ctx, attempt, Math.max(1, ctx.record.amount + delta));
  },
  doubleClick: async (ctx) => {
    await createOrder(ctx);
    // The merchant's page sends the same create and pay several times at once.
    const created = await Promise.all(
      [1, 2].map(() =>
        ctx.merchant.call('POST', '/v1/pay-orders', {
          merchantOrderNo: `chaos-${ctx.record.n}-${ctx.record.scenario}`,
          amount: ctx.record.amount,
          currency: 'CNY',
          subject: `chaos ${ctx.record.scenario}`,
          expiresInSeconds: ctx.record.expiresInSeconds,
          notifyUrl: ctx.receiver.notifyUrl,
        }),
      ),
    );
    const ids = new Set(created.map((a) => a.body?.id));
    if (ids.size !== 1 || !ids.has(ctx.record.payOrderId)) {
      throw new ScriptFailure(
        `a repeated create answered other pay orders: ${[...ids].join(', ')}`,
      );
    }
    const attempts = await Promise.all(
      [1, 2, 3].map(() => payRequest(ctx, ctx.record.channel, ctx.record.method)),
    );
    const first = attempts.find((a) => a !== undefined);
    if (first) await payerPays(ctx, first);
  },
};

async function withTradeFaults(ctx: ScenarioContext, faults: Record<string, unknown>) {
  await createOrder(ctx);
  const attempt = await payRequest(ctx, ctx.record.channel, ctx.record.method);
  if (!attempt) return;
  if (attempt.channel !== 'bankcard') await tradeFaults(ctx, attempt, faults);
  await payerPays(ctx, attempt);
}

/** Draws one order's scenario and parameters from its own stream. */
export function drawOrder(n: number, random: Random, merchantId: string): OrderRecord {
  const scenario = random.weighted(scenarioWeights);
  const [channel, method] = random.pick(
    cardScenarios.has(scenario) ? channelMethods : payerChannels,
  );
  return {
    n,
    scenario,
    merchantId,
    channel,
    method,
    amount: random.int(1, 200_000),
    expiresInSeconds:
      scenario === 'lateAfterExpiry' || scenario === 'abandoned'
        ? random.int(8, 20)
        : random.int(40, 90),
    startedAt: Date.now(),
    steps: [],
  };
}

export async function runScenario(ctx: ScenarioContext): Promise<void> {
  try {
    await scripts[ctx.record.scenario](ctx);
  } catch (err) {
    ctx.record.failure = err instanceof ScriptFailure ? err.message : String(err);
  } finally {
    ctx.record.endedAt = Date.now();
  }
}
