// Issue 12, cashier tokens: the payer's cashier opens only through the cashierUrl the merchant got,
// whose signed token is bound to the pay order and expires with it; cashier pay requests are limited.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createPayOrderForPayer } from '../support/payments';
import { eventually, startTestSystem, type TestSystem } from '../support/system';

// Above the refused pays the other tests send from this address, below the flood's 13.
const payLimitPerMinute = 12;

let system: TestSystem;
before(async () => {
  system = await startTestSystem({
    env: { CASHIER_PAY_LIMIT_PER_MINUTE: String(payLimitPerMinute) },
  });
});
after(async () => {
  await system?.stop();
});

const createOrder = (expiresInSeconds = 600) =>
  createPayOrderForPayer(system, {
    prefix: 'cashier',
    amount: 2_500,
    subject: 'A sandwich',
    expiresInSeconds,
  });

/** What a payer's browser does: GET a page, or POST the cashier form, without following redirects. */
async function browse(url: string, form?: Record<string, string>) {
  const response = await fetch(url, {
    method: form ? 'POST' : 'GET',
    redirect: 'manual',
    ...(form
      ? {
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams(form).toString(),
        }
      : {}),
  });
  const text = await response.text();
  const contentType = response.headers.get('content-type') ?? '';
  return {
    status: response.status,
    contentType,
    location: response.headers.get('location'),
    body: contentType.includes('json') ? JSON.parse(text) : text,
  };
}

function cashierPath(id: string) {
  return `${system.apiUrl}/cashier/${id}`;
}

function tokenOf(order: { cashierUrl: string }) {
  return new URL(order.cashierUrl).searchParams.get('token') ?? '';
}

/** The sandbox page form's action on a rendered cashier page, as an absolute URL. */
function sandboxFormAction(page: string, pageUrl: string) {
  const action =
    /<form class="pay-choice-form" method="post" action="([^"]+)"><input type="hidden" name="channel" value="sandbox">/
      .exec(page)?.[1]
      ?.replace(/&#38;/g, '&');
  assert.ok(action, `no sandbox form on the cashier page: ${page}`);
  return new URL(action, pageUrl).toString();
}

/** Both cashier doors refuse: the page with a plain 403 page, its pay with a 403 problem. */
async function assertRefused(id: string, query: string) {
  const page = await browse(`${cashierPath(id)}${query}`);
  assert.equal(page.status, 403, `page ${query}: ${page.body}`);
  assert.match(page.contentType, /text\/html/);
  assert.doesNotMatch(page.body, /<form/);
  const pay = await browse(`${cashierPath(id)}/pay${query}`, { channel: 'sandbox' });
  assert.equal(pay.status, 403, `pay ${query}: ${JSON.stringify(pay.body)}`);
  assert.match(pay.contentType, /application\/problem\+json/);
  assert.equal(pay.body.code, 'CASHIER_TOKEN_INVALID');
}

async function assertNoChannelOrder(id: string) {
  const view = await system.api('GET', `/v1/pay-orders/${id}`);
  assert.equal(view.status, 200);
  assert.equal(view.body.status, 'CREATED');
  assert.deepEqual(view.body.attempts, []);
}

describe('issue 12: cashier tokens', () => {
  it('issue 12: a cashier request without a token is refused, and no channel order is opened', async () => {
    const order = await createOrder();
    await assertRefused(order.id, '');
    await assertRefused(order.id, '?token=');
    await assertNoChannelOrder(order.id);
  });

  it("issue 12: a forged token or another order's token is refused", async () => {
    const order = await createOrder();
    const other = await createOrder();
    const token = tokenOf(order);
    assert.ok(token, `cashierUrl carries no token: ${order.cashierUrl}`);
    const [expiry, mac] = token.split('.');
    const flipped = `${expiry}.${mac!.startsWith('A') ? 'B' : 'A'}${mac!.slice(1)}`;
    // A later expiry under the same signature: the expiry is signed too.
    const extended = `${Number(expiry) + 3600}.${mac}`;
    for (const forged of [flipped, extended, 'not-a-token', `${expiry}.`, tokenOf(other)]) {
      await assertRefused(order.id, `?token=${encodeURIComponent(forged)}`);
    }
    await assertNoChannelOrder(order.id);
  });

  it('issue 12: an expired token shows the order as expired and pays nothing', async () => {
    const order = await createOrder(1);
    assert.ok(tokenOf(order), `cashierUrl carries no token: ${order.cashierUrl}`);
    await eventually(async () => Date.now() > Date.parse(order.expiresAt) + 1000, {
      what: 'the pay order to expire',
    });
    const page = await browse(order.cashierUrl);
    assert.equal(page.status, 200, page.body);
    assert.match(page.body, /<p id="status"[^>]*data-state="expired"/);
    assert.doesNotMatch(page.body, /class="pay-choice"/);
    const pay = await browse(`${cashierPath(order.id)}/pay?token=${tokenOf(order)}`, {
      channel: 'sandbox',
    });
    assert.equal(pay.status, 403, JSON.stringify(pay.body));
    assert.equal(pay.body.code, 'CASHIER_TOKEN_INVALID');
    assert.match(pay.body.detail, /expired/);
  });

  it("issue 12: the cashierUrl's token opens the page and pays", async () => {
    const order = await createOrder();
    assert.match(order.cashierUrl, new RegExp(`^${cashierPath(order.id)}\\?token=[^&]+$`));
    const page = await browse(order.cashierUrl);
    assert.equal(page.status, 200, page.body);
    assert.match(page.body, /<strong id="amount">25\.00 CNY<\/strong>/);
    const paid = await browse(sandboxFormAction(page.body, order.cashierUrl), {
      channel: 'sandbox',
      method: 'page',
    });
    assert.equal(paid.status, 303, JSON.stringify(paid.body));
    assert.match(paid.location ?? '', new RegExp(`^${system.simulatorUrl}/pay/`));
    const view = await system.api('GET', `/v1/pay-orders/${order.id}`);
    assert.equal(view.body.status, 'PAYING');
    assert.equal(view.body.attempts.length, 1);
  });

  it('issue 12: a cashier pay flood from one address is limited (429 naming the limit)', async () => {
    const orders = [
      await createOrder(),
      await createOrder(),
      await createOrder(),
      await createOrder(),
    ];
    // Three pays of each order stay under the per-order limit; together, one more than the
    // address's limit (the other tests' refused pays from this address count too).
    const pays = orders.flatMap((order) => [order, order, order]).concat(orders[0]!);
    assert.ok(pays.length > payLimitPerMinute);
    const answers = [];
    for (const order of pays) {
      answers.push(
        await browse(`${cashierPath(order.id)}/pay?token=${tokenOf(order)}`, {
          channel: 'sandbox',
        }),
      );
    }
    const statuses = answers.map((a) => a.status).join(' ');
    assert.match(statuses, /^(303 )*429( 429)*$/, statuses);
    for (const limited of answers.filter((a) => a.status === 429)) {
      assert.match(limited.contentType, /application\/problem\+json/);
      assert.equal(limited.body.code, 'CASHIER_PAY_RATE_LIMITED');
      assert.match(limited.body.detail, /CASHIER_PAY_LIMIT_PER_MINUTE/);
      assert.match(
        limited.body.detail,
        new RegExp(`limit of ${payLimitPerMinute} .* per client address`),
      );
    }
    // The pays that went through reused one channel order per pay order.
    for (const order of orders) {
      const view = await system.api('GET', `/v1/pay-orders/${order.id}`);
      assert.ok(view.body.attempts.length <= 1, JSON.stringify(view.body.attempts));
    }
  });
});
