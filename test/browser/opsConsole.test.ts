// Issue 18: the ops console in a real Chromium against the running system. An operator signs in
// with an ops key, finds a flagged order in the exception queue with its reason, reads its whole
// story, clears the flag with a note, redelivers a merchant event (once per form, however often
// it is sent), syncs a silent order with the channel, reconciles a day and resolves a difference;
// every action leaves its audit row. Forged, cross-site and stale requests change nothing.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { sql } from 'drizzle-orm';
import { businessDayOf } from '../../src/domain/businessDay';
import { createOperatorKey, revokeOperatorKey } from '../../src/services/operators';
import { paymentWorkflowId } from '../../src/workflows/contracts/payment';
import { chromiumForFile, screenshot, withPage } from '../support/browser';
import { MerchantEndpoint } from '../support/merchantEndpoint';
import { payerPays, payingOrder, reached, unique } from '../support/payments';
import { eventually, startTestSystem, type TestSystem } from '../support/system';

let system: TestSystem;
const endpoint = new MerchantEndpoint();
const browser = chromiumForFile();
const temporalUi = 'http://temporal-ui.test:8233';

before(async () => {
  await endpoint.start();
  system = await startTestSystem({
    // Its own books: the queue shows this file's flagged orders only.
    ownDatabase: true,
    env: {
      TEMPORAL_UI_URL: temporalUi,
      QUERY_SCHEDULE_SECONDS: '60',
      MERCHANT_NOTIFY_RETRY_SECONDS: '1,1',
      RECONCILE_CHANNELS: 'sandbox',
      RECONCILE_HOLD_DAYS: '0',
      SAFETY_NET_INTERVAL_SECONDS: '86400',
    },
  });
});
after(async () => {
  await system?.stop();
  await endpoint.stop();
});

const consoleAt = (path = '') => `${system.apiUrl}/ops/console${path}`;

/** A page signed in as the operator whose key this is, on the exception queue. */
async function signIn(page: Page, key = system.opsKey) {
  await page.goto(consoleAt());
  assert.match(page.url(), /\/ops\/console\/login(\?|$)/);
  await page.fill('#key', key);
  await page.click('button[type=submit]');
  await page.waitForSelector('h1:text("Exceptions")');
}

function inConsole<T>(work: (page: Page) => Promise<T>): Promise<T> {
  return withPage(browser(), { locale: 'en-US' }, work);
}

/** The audit log's entries of one action, newest first (the /ops API reads the same table). */
async function audited(action: string) {
  const answer = await system.ops('GET', `/ops/audit?action=${action}`);
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  return answer.body.items as {
    operator: string;
    subject: { type: string; id: string };
    note: string | null;
    after: Record<string, unknown> | null;
  }[];
}

/** Posts a console form from the signed-in page's context, as a second click would. */
async function postForm(page: Page, path: string, form: Record<string, string>, origin?: string) {
  return page.request.post(consoleAt(path), {
    form,
    maxRedirects: 0,
    headers: origin ? { origin } : {},
  });
}

/** An order paid with another amount than its own: refunded, and flagged AMOUNT_MISMATCH. */
async function mismatchedOrder() {
  const order = await payingOrder(system, {
    prefix: 'console',
    amount: 3_000,
    subject: 'Teapot',
    notifyUrl: `${endpoint.url}/events`,
  });
  await payerPays(system, order.outTradeNo, 2_999);
  await eventually(
    async () => {
      const view = await system.payOrder(order.id);
      return view.needsAttention && view.refunds[0]?.status === 'SUCCEEDED';
    },
    { what: `${order.id} flagged and refunded` },
  );
  return order;
}

describe('the ops console', () => {
  it('lets in only an operator with a valid key, on pages that run no script', async () => {
    await inConsole(async (page) => {
      const opened = await page.goto(consoleAt('/audit'));
      assert.match(page.url(), /\/ops\/console\/login(\?|$)/);
      const policy = opened!.headers()['content-security-policy'] ?? '';
      assert.match(policy, /default-src 'none'/);
      assert.match(policy, /frame-ancestors 'none'/);
      assert.doesNotMatch(policy, /script-src/);

      await page.fill('#key', 'pk_ops_not-a-key');
      const refused = page.waitForResponse((r) => r.request().method() === 'POST');
      await page.click('button[type=submit]');
      assert.equal((await refused).status(), 401);
      assert.match(await page.innerText('#problem'), /unknown or revoked/);

      // Signed in, on the page first asked for (the refused try kept it).
      await page.fill('#key', system.opsKey);
      await page.click('button[type=submit]');
      await page.waitForSelector('h1:text("Audit log")');
      assert.equal(await page.innerText('#operator'), 'ops');
      const [session] = (await page.context().cookies()).filter((c) => c.name === 'paycenter_ops');
      assert.ok(session, 'a session cookie');
      assert.equal(session.httpOnly, true);
      assert.equal(session.sameSite, 'Lax');
      assert.equal(session.path, '/ops/console');
    });
    assert.equal((await audited('operator.sign_in'))[0]?.operator, 'ops');
  });

  it('shows a flagged order in the queue with why, its story, and clears it with a note', async () => {
    const order = await mismatchedOrder();
    await inConsole(async (page) => {
      await signIn(page);
      const row = page.locator(`tr[data-pay-order="${order.id}"]`);
      await screenshot(page, 'exception-queue');
      assert.match(await row.innerText(), /AMOUNT_MISMATCH/);
      assert.match(await row.innerText(), /30\.00 CNY/);
      assert.match(await row.innerText(), /sandbox/);
      assert.equal(
        await row.locator('a:text("workflow")').getAttribute('href'),
        `${temporalUi}/namespaces/default/workflows/${encodeURIComponent(paymentWorkflowId(order.id))}`,
      );

      // Filtered by another reason, it is not there; by its own, it is.
      await page.fill('#code', 'CHANNEL_SILENT');
      await page.click('form.filters button');
      await page.waitForSelector('#exceptions .empty');
      await page.fill('#code', 'AMOUNT_MISMATCH');
      await page.click('form.filters button');
      await page.waitForSelector(`tr[data-pay-order="${order.id}"]`);

      await row.locator(`a:text("${order.id}")`).click();
      await page.waitForSelector(`h1:text("Pay order ${order.id}")`);
      assert.match(await page.innerText('#attention-code'), /AMOUNT_MISMATCH/);
      assert.match(await page.innerText('#channel-orders'), new RegExp(order.outTradeNo));
      assert.match(await page.innerText('#channel-orders'), /AMOUNT_MISMATCH/);
      assert.match(await page.innerText('#refunds'), /AMOUNT_MISMATCH/);
      assert.match(await page.innerText('#notifications'), /SUCCEEDED/);
      assert.match(await page.innerText('#channel-calls'), /openChannelOrder|queryChannelOrder/);
      await screenshot(page, 'order-story');

      await page.fill('#note', 'Payer told; the 29.99 went back to them');
      await page.click('#clear-attention button');
      await page.waitForSelector('#notice:text("NeedsAttention is cleared")');
      // The workflow writes the cleared flag; the page shows it once it has.
      await eventually(async () => {
        await page.reload();
        return (await page.innerText('#needs-attention')) === 'no';
      });
      assert.match(await page.innerText('#audit'), /pay_order\.clear_attention/);
      assert.match(await page.innerText('#audit'), /the 29\.99 went back/);

      await page.goto(consoleAt());
      assert.equal(await page.locator(`tr[data-pay-order="${order.id}"]`).count(), 0);
    });
    const [entry] = await audited('pay_order.clear_attention');
    assert.equal(entry?.subject.id, order.id);
    assert.equal(entry?.operator, 'ops');
    assert.equal(entry?.note, 'Payer told; the 29.99 went back to them');
  });

  it('redelivers a merchant event once per form, however often the form is sent', async () => {
    const order = await mismatchedOrder();
    const eventId = await eventually(async () => {
      const event = endpoint
        .at('/events')
        .find((r) => JSON.parse(r.body).data.payOrderId === order.id);
      return event?.eventId;
    });
    const sentBefore = endpoint.received.filter((r) => r.eventId === eventId).length;
    await inConsole(async (page) => {
      await signIn(page);
      await page.goto(consoleAt(`/orders/${order.id}`));
      const form = page.locator(`tr[data-event="${eventId}"] form`);
      const fields = {
        csrf: await form.locator('input[name=csrf]').inputValue(),
        redeliveryId: await form.locator('input[name=redeliveryId]').inputValue(),
      };
      const first = await postForm(page, `/events/${eventId}/redeliver`, fields);
      assert.equal(first.status(), 303);
      assert.match(first.headers().location ?? '', /done=redelivered/);
      const again = await postForm(page, `/events/${eventId}/redeliver`, fields);
      assert.equal(again.status(), 303);
      assert.match(again.headers().location ?? '', /done=alreadyRedelivered/);

      await eventually(
        async () => endpoint.received.filter((r) => r.eventId === eventId).length > sentBefore,
        { what: 'the redelivery to reach the merchant' },
      );
      await page.reload();
      await eventually(async () => {
        await page.reload();
        return /REDELIVERY/.test(await page.innerText(`tr[data-event="${eventId}"]`));
      });
    });
    // Let a second send arrive if one had been made: none is.
    await new Promise((r) => setTimeout(r, 1_500));
    assert.equal(endpoint.received.filter((r) => r.eventId === eventId).length, sentBefore + 1);
    const entries = (await audited('merchant_event.redeliver')).filter(
      (e) => e.subject.id === eventId,
    );
    assert.equal(entries.length, 1);
  });

  it('syncs a silent order with the channel: the payment its notification never told', async () => {
    const order = await payingOrder(system, { prefix: 'console', amount: 1_800, subject: 'Cups' });
    await system.simulator('POST', `/control/payments/${order.outTradeNo}/faults`, {
      dropNotifications: true,
    });
    await payerPays(system, order.outTradeNo);
    assert.equal((await system.payOrder(order.id)).status, 'PAYING');
    await inConsole(async (page) => {
      await signIn(page);
      await page.goto(consoleAt(`/orders/${order.id}`));
      await page.click('#sync button');
      await page.waitForSelector('#notice:text("The channel was asked now")');
      assert.equal(await page.innerText('#status'), 'SUCCEEDED');
      assert.match(await page.innerText('#channel-calls'), /queryChannelOrder/);
    });
    await reached(system, order.id, 'SUCCEEDED');
    const [entry] = await audited('pay_order.sync');
    assert.equal(entry?.subject.id, order.id);
    assert.equal(entry?.after?.outcome, 'SYNCED');
    assert.equal(entry?.after?.status, 'SUCCEEDED');
  });

  it('reconciles a day and records an operator resolving a difference', async () => {
    const outTradeNo = unique('OUTSIDE').replace(/[^0-9A-Za-z]/g, '');
    const outside = await system.simulator('POST', '/control/payments', {
      channel: 'sandbox',
      outTradeNo,
      amount: 1_600,
    });
    assert.equal(outside.status, 201, JSON.stringify(outside.body));
    const today = businessDayOf(new Date());
    await inConsole(async (page) => {
      await signIn(page);
      await page.click('nav a:text("Reconciliation")');
      await page.selectOption('#run-channel', 'sandbox');
      await page.fill('#run-day-input', today);
      await page.click('#run-day button');
      await page.waitForSelector(`h1:text("Reconciliation of sandbox ${today}")`);
      await page.waitForSelector('#notice:text("The day was reconciled")');
      const row = page.locator('tr[data-difference]', { hasText: outTradeNo });
      assert.match(await row.innerText(), /UNKNOWN_PAYMENT/);
      assert.match(await row.innerText(), /16\.00 CNY/);
      const differenceId = await row.getAttribute('data-difference');

      // A resolution without a note is refused, naming the field; nothing changes.
      const csrf = await row.locator('input[name=csrf]').inputValue();
      const bare = await postForm(page, `/differences/${differenceId}/resolve`, { csrf, note: '' });
      assert.equal(bare.status(), 400);
      assert.match(await bare.text(), /body\.note must say what was decided/);

      await row.locator('textarea').fill('Payment of another shop on our account; channel told');
      await row.locator('button').click();
      await page.waitForSelector('#notice:text("The difference is resolved")');
      assert.equal(
        await page.innerText(`tr[data-difference="${differenceId}"] .resolution`),
        'RESOLVED',
      );
      await screenshot(page, 'reconciliation-day');

      await page.click('nav a:text("Audit log")');
      await page.selectOption('#action', 'reconciliation_difference.resolve');
      await page.click('form.filters button');
      const entry = page.locator('#audit tbody tr').first();
      assert.match(await entry.innerText(), /another shop on our account/);
      assert.match(await entry.innerText(), new RegExp(differenceId!));
    });
    assert.equal((await audited('reconciliation.run'))[0]?.subject.id, `sandbox:${today}`);
  });

  it('runs a safety-net scan on request and lists what is still found', async () => {
    await inConsole(async (page) => {
      await signIn(page);
      await page.click('nav a:text("Safety net")');
      await page.click('form.action button:text("Scan all merchants now")');
      await page.waitForSelector('#notice:text("The safety net scanned every merchant")');
      await page.waitForSelector('#findings');
    });
    assert.equal((await audited('safety_net.scan'))[0]?.operator, 'ops');
  });

  it('refuses forged, cross-site and stale requests, and ends sessions', async () => {
    const order = await mismatchedOrder();
    const { key, id: keyId } = await createOperatorKey(system.database.db, { name: 'lin' }, 'ops');
    await inConsole(async (page) => {
      await signIn(page, key);
      assert.equal(await page.innerText('#operator'), 'lin');
      await page.goto(consoleAt(`/orders/${order.id}`));
      const csrf = await page.locator('#clear-attention input[name=csrf]').inputValue();
      const path = `/orders/${order.id}/clear-attention`;

      const forged = await postForm(page, path, { csrf: 'x'.repeat(43), note: 'forged' });
      assert.equal(forged.status(), 403);
      const missing = await postForm(page, path, { note: 'no token' });
      assert.equal(missing.status(), 403);
      const crossSite = await postForm(
        page,
        path,
        { csrf, note: 'from elsewhere' },
        'https://evil.example',
      );
      assert.equal(crossSite.status(), 403);
      assert.equal((await system.payOrder(order.id)).needsAttention, true);

      // The key is revoked: its session ends with it.
      await revokeOperatorKey(system.database.db, keyId, 'ops');
      await page.goto(consoleAt());
      assert.match(page.url(), /\/ops\/console\/login(\?|$)/);
      const stale = await postForm(page, path, { csrf, note: 'after revocation' });
      assert.equal(stale.status(), 401);
      assert.equal((await system.payOrder(order.id)).needsAttention, true);

      // Signing out ends the session for good: its cookie opens nothing afterwards.
      await signIn(page);
      const cookie = (await page.context().cookies()).find((c) => c.name === 'paycenter_ops')!;
      await page.click('header form.signout button');
      await page.waitForSelector('h1:text("Sign in")');
      await page.context().addCookies([cookie]);
      await page.goto(consoleAt());
      assert.match(page.url(), /\/ops\/console\/login(\?|$)/);
    });
    assert.deepEqual(
      (await audited('pay_order.clear_attention')).filter((e) => e.subject.id === order.id),
      [],
    );
    assert.equal((await audited('operator.sign_out'))[0]?.operator, 'ops');
  });
});

describe('console sessions', () => {
  it('opens the page a link asked for once signed in, and never another site', async () => {
    const order = await mismatchedOrder();
    await inConsole(async (page) => {
      await page.goto(consoleAt(`/orders/${order.id}`));
      assert.match(page.url(), /\/ops\/console\/login\?next=/);
      await page.fill('#key', system.opsKey);
      await page.click('button[type=submit]');
      await page.waitForSelector(`h1:text("Pay order ${order.id}")`);
    });
    await inConsole(async (page) => {
      for (const next of ['https://evil.example/x', '//evil.example', '/ops/console/../../v1']) {
        await page.goto(consoleAt(`/login?next=${encodeURIComponent(next)}`));
        assert.equal(await page.locator('input[name=next]').inputValue(), '/ops/console');
      }
      await page.fill('#key', system.opsKey);
      await page.click('button[type=submit]');
      await page.waitForSelector('h1:text("Exceptions")');
      assert.equal(new URL(page.url()).pathname, '/ops/console');
    });
  });

  it('ends a session idle too long or past its lifetime, and refuses a sign-in form not its own', async () => {
    const sessions = async (change: string) => {
      await system.database.db.execute(sql.raw(`update ops_console_sessions set ${change}`));
    };
    await inConsole(async (page) => {
      await signIn(page);
      await sessions(`last_seen_at = now() - interval '31 minutes' where ended_at is null`);
      await page.goto(consoleAt('/audit'));
      assert.match(page.url(), /\/ops\/console\/login(\?|$)/);

      await signIn(page);
      await sessions(`expires_at = now() - interval '1 second' where ended_at is null`);
      await page.goto(consoleAt('/audit'));
      assert.match(page.url(), /\/ops\/console\/login(\?|$)/);
    });
    await inConsole(async (page) => {
      // No sign-in form was opened in this browser: its token is nowhere to compare with.
      const forged = await page.request.post(consoleAt('/login'), {
        form: { key: system.opsKey, login: 'guessed' },
        maxRedirects: 0,
      });
      assert.equal(forged.status(), 403);
      assert.equal(
        (await page.context().cookies()).filter((c) => c.name === 'paycenter_ops').length,
        0,
      );
    });
  });
});

describe('the exception queue', () => {
  it('pages by flag time and names what is wrong with a filter', async () => {
    const first = await system.ops('GET', '/ops/exceptions?limit=1');
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(first.body.items.length, 1);
    assert.ok(first.body.nextCursor, 'more than one order is flagged in this file');
    const second = await system.ops(
      'GET',
      `/ops/exceptions?limit=1&cursor=${encodeURIComponent(first.body.nextCursor)}`,
    );
    assert.equal(second.body.items.length, 1);
    assert.notEqual(second.body.items[0].id, first.body.items[0].id);
    assert.ok(second.body.items[0].flaggedAt <= first.body.items[0].flaggedAt);

    const bad = await system.ops('GET', '/ops/exceptions?code=not a code&status=LOST');
    assert.equal(bad.status, 400);
    assert.match(bad.body.detail, /query\.code is not an attention code/);
    assert.match(bad.body.detail, /query\.status/);

    await inConsole(async (page) => {
      await signIn(page);
      const answer = await page.goto(consoleAt('?status=LOST'));
      assert.equal(answer!.status(), 400);
      assert.match(await page.innerText('#problem'), /query\.status/);
      assert.equal(await page.innerText('#operator'), 'ops');
    });
  });
});
