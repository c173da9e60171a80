// Issue 15: the cashier's defences against paying twice, in a real Chromium against the running
// system and the sandbox channel: the same-window hand-off and the result page, a double click,
// the back button after paying, the QR code that turns into success by itself, "I have paid" with
// and without a payment, an expired order, and both languages.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { chromiumForFile, screenshot, withPage } from '../support/browser';
import { createPayOrderForPayer, payerPays, reached, unique } from '../support/payments';
import { eventually, startTestSystem, type TestSystem } from '../support/system';

let system: TestSystem;
/** The merchant's own site, where the result page sends the payer back. */
let merchantSite: Server;
let merchantUrl: string;
const browser = chromiumForFile();

before(async () => {
  system = await startTestSystem({ env: { QUERY_SCHEDULE_SECONDS: '60' } });
  merchantSite = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(
      `<!doctype html><title>Merchant</title><h1 id="merchant">Back at the shop: ${req.url}</h1>`,
    );
  });
  await new Promise<void>((resolve) => merchantSite.listen(0, '127.0.0.1', resolve));
  merchantUrl = `http://127.0.0.1:${(merchantSite.address() as AddressInfo).port}`;
});
after(async () => {
  merchantSite?.close();
  await system?.stop();
});

interface CashierOrder {
  id: string;
  cashierUrl: string;
  merchantOrderNo: string;
}

async function newOrder(options: { expiresInSeconds?: number } = {}): Promise<CashierOrder> {
  const merchantOrderNo = unique('browser');
  const { id, cashierUrl } = await createPayOrderForPayer(system, {
    prefix: 'browser',
    merchantOrderNo,
    amount: 1_999,
    subject: 'Green tea 绿茶',
    returnUrl: `${merchantUrl}/orders/${merchantOrderNo}`,
    ...options,
  });
  return { id, cashierUrl, merchantOrderNo };
}

const choice = (page: Page, channel: string, method: string) =>
  page.locator(`button.pay-choice[data-channel="${channel}"][data-method="${method}"]`);
const status = (page: Page) => page.locator('#status');

async function expectState(page: Page, state: string, timeout = 10_000) {
  await page.waitForSelector(`#status[data-state="${state}"]`, { timeout });
}

async function visiblePayButtons(page: Page) {
  return page.locator('button.pay-choice:visible').count();
}

/** The channel orders paycenter's books hold for the order. */
async function channelOrders(id: string) {
  const view = await system.payOrder(id);
  return view.attempts as { outTradeNo: string; channel: string; method: string; status: string }[];
}

/** The simulator's own record of a channel order: what the channel holds, not what we think. */
async function tradeStatus(outTradeNo: string) {
  return ((await system.trade(outTradeNo)) as { trade_status: string }).trade_status;
}

/** The channel order the page opened: waits for paycenter's books to hold it. */
async function openedChannelOrder(id: string, index = 0) {
  return eventually(async () => (await channelOrders(id))[index], {
    what: `channel order ${index + 1} of ${id}`,
  });
}

/** The payer picks the sandbox's page method: this window goes to the channel's page. */
async function toSandboxPage(
  page: Page,
  order: CashierOrder,
  click: 'click' | 'dblclick' = 'click',
) {
  await page.goto(order.cashierUrl);
  await expectState(page, 'payable');
  await choice(page, 'sandbox', 'page')[click]();
  await page.waitForURL(`${system.simulatorUrl}/pay/**`);
}

/** The payer pays on the sandbox's page and is sent back to the result page, which says paid. */
async function paysOnSandboxPage(page: Page, order: CashierOrder) {
  await page.locator('#pay').click();
  await page.waitForURL(`**/cashier/${order.id}/result?**`);
  await expectState(page, 'paid');
}

/** Moves the focus with the Tab key alone until it is on `selector` (a keyboard-only payer). */
async function tabTo(page: Page, selector: string) {
  for (let presses = 0; presses < 30; presses++) {
    await page.keyboard.press('Tab');
    if ((await page.locator(`${selector}:focus`).count()) === 1) return;
  }
  assert.fail(`the Tab key never reaches ${selector}`);
}

const inWeChat =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.50';

describe('the cashier in a real browser (issue 15)', () => {
  it('pays with the sandbox page in the same window, lands on the result page, goes back to the merchant', async () => {
    const order = await newOrder();
    await withPage(browser(), { locale: 'en-US' }, async (page) => {
      await toSandboxPage(page, order);
      // Same window: this page went to the channel, no popup opened.
      assert.equal(page.context().pages().length, 1);
      await paysOnSandboxPage(page, order);
      assert.equal(await status(page).textContent(), 'Payment received, do not pay again');
      assert.equal(await visiblePayButtons(page), 0);
      await screenshot(page, 'result-paid-en');
      await page.locator('#back-to-merchant').click();
      await page.waitForURL(`${merchantUrl}/orders/${order.merchantOrderNo}`);
      assert.match((await page.locator('#merchant').textContent()) ?? '', /Back at the shop/);
    });
    assert.equal((await system.payOrder(order.id)).status, 'SUCCEEDED');
  });

  it('opens one channel order for a double click on the pay button', async () => {
    const order = await newOrder();
    await withPage(browser(), { locale: 'en-US' }, async (page) => {
      await toSandboxPage(page, order, 'dblclick');
    });
    const opened = await channelOrders(order.id);
    assert.equal(opened.length, 1, JSON.stringify(opened));
    const atSimulator = (await system.simulator('GET', '/control/payments')).body.items as {
      out_trade_no: string;
    }[];
    const ours = new Set(opened.map((o) => o.outTradeNo));
    assert.equal(atSimulator.filter((trade) => ours.has(trade.out_trade_no)).length, 1);
  });

  it('shows a paid order as paid, with no pay button, when the payer goes back to the cashier', async () => {
    const order = await newOrder();
    await withPage(browser(), { locale: 'en-US' }, async (page) => {
      await toSandboxPage(page, order);
      await paysOnSandboxPage(page, order);
      // Back through the channel's page to the cashier the payer started from.
      while (!page.url().startsWith(order.cashierUrl)) await page.goBack();
      await expectState(page, 'paid');
      assert.equal(await visiblePayButtons(page), 0);
      assert.match((await status(page).textContent()) ?? '', /do not pay again/);
      await screenshot(page, 'cashier-after-back-paid-en');
    });
  });

  it('turns a QR code into success by itself once the payer pays it', async () => {
    const order = await newOrder();
    await withPage(browser(), { locale: 'en-US' }, async (page) => {
      await page.goto(order.cashierUrl);
      // By keyboard alone.
      await tabTo(page, 'button.pay-choice[data-channel="sandbox"][data-method="qr"]');
      await page.keyboard.press('Enter');
      await page.locator('#qr svg').waitFor();
      assert.ok(await page.locator('#paid-check').isVisible(), 'the "did you pay?" dialog is open');
      await screenshot(page, 'qr-code-en');
      // Marks this document: a reload would lose the mark.
      await page.evaluate(() => Object.assign(globalThis, { notReloaded: true }));
      const { outTradeNo } = await openedChannelOrder(order.id);
      await payerPays(system, outTradeNo);
      await expectState(page, 'paid', 5_000);
      assert.equal(await page.evaluate(() => 'notReloaded' in globalThis), true, 'no reload');
      assert.equal(await page.locator('#qr svg').count(), 0);
      assert.equal(await visiblePayButtons(page), 0);
    });
  });

  it('"I have paid" finds a payment whose notification was dropped', async () => {
    const order = await newOrder();
    await withPage(browser(), { locale: 'en-US' }, async (page) => {
      await page.goto(order.cashierUrl);
      await choice(page, 'sandbox', 'qr').click();
      await page.locator('#qr svg').waitFor();
      const { outTradeNo } = await openedChannelOrder(order.id);
      const dropped = await system.simulator('POST', `/control/payments/${outTradeNo}/faults`, {
        dropNotifications: true,
      });
      assert.equal(dropped.status, 200, JSON.stringify(dropped.body));
      await payerPays(system, outTradeNo);
      assert.equal((await system.payOrder(order.id)).status, 'PAYING', 'nothing was notified');
      await page.locator('#i-have-paid').click();
      await expectState(page, 'paid');
    });
    await reached(system, order.id, 'SUCCEEDED');
  });

  it('"I have paid" with nothing paid says so, and paying another way closes the first channel order', async () => {
    const order = await newOrder();
    await withPage(browser(), { locale: 'en-US' }, async (page) => {
      await page.goto(order.cashierUrl);
      await choice(page, 'sandbox', 'qr').click();
      await page.locator('#qr svg').waitFor();
      const first = await openedChannelOrder(order.id);
      await page.locator('#i-have-paid').click();
      await page.locator('#not-found').waitFor();
      assert.match((await page.locator('#not-found').textContent()) ?? '', /No payment found yet/);
      await screenshot(page, 'no-payment-found-yet-en');
      // The dialog by keyboard: the focus waits on "Keep waiting", the next choice is a Tab away.
      await tabTo(page, '#pay-another-way');
      await page.keyboard.press('Enter');
      await choice(page, 'sandbox', 'page').click();
      await page.waitForURL(`${system.simulatorUrl}/pay/**`);
      const second = await openedChannelOrder(order.id, 1);
      assert.notEqual(second.outTradeNo, first.outTradeNo);
      assert.equal(await tradeStatus(first.outTradeNo), 'TRADE_CLOSED');
      assert.equal(await tradeStatus(second.outTradeNo), 'WAIT_BUYER_PAY');
    });
  });

  it('shows an expired order as expired, with no pay button', async () => {
    const order = await newOrder({ expiresInSeconds: 2 });
    await eventually(async () => (await system.payOrder(order.id)).status === 'CLOSED', {
      what: 'the order to close on expiry',
    });
    await withPage(browser(), { locale: 'en-US' }, async (page) => {
      await page.goto(order.cashierUrl);
      await expectState(page, 'expired');
      assert.equal(await visiblePayButtons(page), 0);
      assert.match((await status(page).textContent()) ?? '', /expired/);
      await screenshot(page, 'expired-en');
    });
  });

  it('pays inside WeChat with the pay sheet, from the signed payParams', async () => {
    const order = await newOrder();
    await withPage(browser(), { locale: 'zh-CN', userAgent: inWeChat }, async (page) => {
      // WeChat's browser gives pages WeixinJSBridge; this one hands the pay sheet to the test.
      // (A script's text: the functions tsx compiles name themselves with a helper pages lack.)
      await page.addInitScript({
        content:
          'window.WeixinJSBridge = { invoke: function (name, params, done) {' +
          ' window.paySheet = { name: name, params: params, done: done }; } };',
      });
      // The merchant's page inside WeChat knows the payer's openid and passes it on.
      await page.goto(`${order.cashierUrl}&payerId=oPayer_browser_test`);
      await choice(page, 'wechatpay', 'jsapi').click();
      const sheet = await page.waitForFunction(() => {
        const { paySheet } = globalThis as { paySheet?: { name: string; params: unknown } };
        return paySheet && { name: paySheet.name, params: paySheet.params };
      });
      const { name, params } = (await sheet.jsonValue()) as {
        name: string;
        params: Record<string, string>;
      };
      assert.equal(name, 'getBrandWCPayRequest');
      assert.match(params.package ?? '', /^prepay_id=/);
      assert.equal(params.signType, 'RSA');
      assert.ok(params.paySign && params.appId && params.nonceStr && params.timeStamp);
      const { outTradeNo, method } = await openedChannelOrder(order.id);
      assert.equal(method, 'jsapi');
      await payerPays(system, outTradeNo);
      // WeChat says "ok" when the payer is done; the page then asks paycenter, not WeChat's word.
      await page.evaluate(() =>
        (globalThis as unknown as { paySheet: { done: (r: unknown) => void } }).paySheet.done({
          err_msg: 'get_brand_wcpay_request:ok',
        }),
      );
      await expectState(page, 'paid');
    });
  });

  it('offers no in-app method outside the app or without the payer', async () => {
    const order = await newOrder();
    for (const [userAgent, query] of [
      [undefined, '&payerId=oPayer_browser_test'],
      [inWeChat, ''],
    ] as const) {
      await withPage(
        browser(),
        { locale: 'en-US', ...(userAgent ? { userAgent } : {}) },
        async (page) => {
          await page.goto(`${order.cashierUrl}${query}`);
          await expectState(page, 'payable');
          assert.equal(await choice(page, 'wechatpay', 'jsapi').count(), 0);
          assert.equal(await choice(page, 'wechatpay', 'native').count(), 1);
        },
      );
    }
  });

  it('speaks zh-CN and en, from Accept-Language and by choice', async () => {
    const order = await newOrder();
    await withPage(browser(), { locale: 'zh-CN' }, async (page) => {
      // The content policy allows no inline script or style: the page must not need any.
      const refused: string[] = [];
      page.on('console', (message) => {
        if (/Content Security Policy/i.test(message.text())) refused.push(message.text());
      });
      const answer = await page.goto(order.cashierUrl);
      assert.equal(answer?.headers()['cache-control'], 'no-store');
      assert.doesNotMatch(answer?.headers()['content-security-policy'] ?? '', /unsafe-inline/);
      assert.equal(await page.locator('html').getAttribute('lang'), 'zh-CN');
      assert.equal(await page.locator('#choices-title').textContent(), '选择支付方式');
      await page.locator('#countdown time').filter({ hasText: '分' }).waitFor();
      await screenshot(page, 'cashier-zh-CN');
      await page.setViewportSize({ width: 390, height: 844 });
      await screenshot(page, 'cashier-zh-CN-phone');
      await page.locator('a[hreflang="en"]').click();
      await page.waitForURL(/lang=en/);
      assert.equal(await page.locator('html').getAttribute('lang'), 'en');
      assert.deepEqual(refused, []);
    });
    await withPage(browser(), { locale: 'en-US' }, async (page) => {
      await page.goto(order.cashierUrl);
      assert.equal(await page.locator('html').getAttribute('lang'), 'en');
      assert.equal(await page.locator('#choices-title').textContent(), 'Choose how to pay');
      await page.locator('#countdown time').filter({ hasText: 'min' }).waitFor();
      await screenshot(page, 'cashier-en');
    });
  });
});
