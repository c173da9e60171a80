// Issue 15, the browser tests' first step: a payer opens the cashierUrl the merchant got in a real
// Chromium and sees what they are asked to pay, served by the whole system (API, worker,
// simulator).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, it } from 'node:test';
import { chromiumForFile, screenshot, withPage } from '../support/browser';
import { createPayOrderForPayer } from '../support/payments';
import { startTestSystem, type TestSystem } from '../support/system';

const browser = chromiumForFile();
let system: TestSystem;
before(async () => {
  system = await startTestSystem();
});
after(async () => {
  await system?.stop();
});

it('a payer opening the cashier link in Chromium sees the subject and amount of the pay order', async () => {
  // An ampersand and Chinese: the subject reaches the page escaped and in UTF-8, as written.
  const order = { prefix: 'browser-smoke', amount: 2_512, subject: '咖啡 & 三明治' };
  const { cashierUrl } = await createPayOrderForPayer(system, order);

  await withPage(browser(), { locale: 'zh-CN' }, async (page) => {
    const answer = await page.goto(cashierUrl);
    assert.equal(answer?.status(), 200);
    assert.equal((await page.locator('h1').innerText()).trim(), order.subject);
    // 2512 fen are 25.12 yuan, however the page dresses the figure (¥, CNY, 元).
    assert.match(await page.locator('#amount').innerText(), /(?<![\d.])25\.12(?![\d])/);

    const shot = await screenshot(page, 'smoke cashier page');
    const png = readFileSync(shot);
    assert.ok(png.length > 1_000, `a screenshot of a page, not ${png.length} bytes`);
    assert.equal(png.subarray(1, 4).toString('latin1'), 'PNG');
  });
});
