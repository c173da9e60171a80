// The cashier's language choice and what its page lets through from the order.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pickLanguage } from '../../src/api/cashier/messages';
import { renderCashierPage } from '../../src/api/cashier/pages';
import type { PayerView } from '../../src/services/payOrders';

describe('the cashier language', () => {
  it('takes the payer’s choice, else the first Accept-Language it speaks, else Chinese', () => {
    assert.equal(pickLanguage('en', 'zh-CN,zh;q=0.9'), 'en');
    assert.equal(
      pickLanguage('fr', 'en-GB,en;q=0.8'),
      'en',
      'a language it does not speak is no choice',
    );
    assert.equal(pickLanguage(undefined, 'fr-FR,en;q=0.5,zh;q=0.9'), 'zh-CN', 'by quality');
    assert.equal(pickLanguage(undefined, 'zh-TW'), 'zh-CN');
    assert.equal(pickLanguage(undefined, 'en;q=0, de'), 'zh-CN', 'q=0 means not this one');
    assert.equal(pickLanguage(undefined, undefined), 'zh-CN');
  });
});

describe('the cashier page', () => {
  const order: PayerView = {
    id: 'po_01M8VE6B82NAQ1PFQ3K8HACQSS',
    merchantName: 'Tea <b>house</b>',
    merchantOrderNo: 'T-1',
    subject: '</script><script>alert(1)</script>',
    amount: 1999,
    currency: 'CNY',
    status: 'PAYING',
    expiresAt: '2030-01-01T00:00:00.000Z',
    returnUrl: 'https://shop.example/orders/T-1?a=1&b="2"',
    latestAttempt: null,
  };
  const render = (overrides: Partial<PayerView> = {}) =>
    renderCashierPage({
      order: { ...order, ...overrides },
      access: new URLSearchParams({ token: 'tok' }),
      language: 'en',
      mode: 'choose',
      choices: [{ channel: 'sandbox', method: 'page', handOff: 'redirect' }],
      now: new Date('2029-12-31T23:00:00Z'),
    });

  it('shows what came from the merchant as text, and runs no inline script', () => {
    const html = render();
    assert.ok(!html.includes('<script>alert'), 'the subject is escaped');
    assert.ok(!html.includes('<b>house</b>'), "the merchant's name is escaped");
    assert.ok(html.includes('href="https://shop.example/orders/T-1?a=1&#38;b=&#34;2&#34;"'));
    const scripts = html.match(/<script[^>]*>/g) ?? [];
    assert.deepEqual(scripts, [
      '<script src="/cashier/assets/cashier.js" defer>',
      '<script type="application/json" id="cashier-data">',
    ]);
  });

  it('offers no choice for an order that is paid, closed or past its expiry', () => {
    assert.match(render(), /class="pay-choice"/);
    for (const overrides of [
      { status: 'SUCCEEDED' as const },
      { status: 'CLOSED' as const },
      { expiresAt: '2029-12-31T22:59:59.000Z' },
    ]) {
      assert.doesNotMatch(render(overrides), /class="pay-choice"/, JSON.stringify(overrides));
    }
  });
});
