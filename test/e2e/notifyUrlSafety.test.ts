// Issue 12, notify URL safety (SSRF): a merchant's notify and return URLs cannot lead paycenter
// into its own network, not at create and not at delivery (DNS rebinding), redirects are not
// followed, and a delivery try shows the merchant an error category, never an address.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { openChannelOrder, payerPays, payOrderBody } from '../support/payments';
import { freePort } from '../support/ports';
import { eventually, startTestSystem, type TestSystem } from '../support/system';

/** The names the test's DNS knows; the test changes them to rebind a name after create. */
const names = new Map<string, string[]>([
  ['internal.test', ['10.0.0.1']],
  ['metadata.test', ['169.254.169.254']],
  ['mixed.test', ['93.184.216.34', '127.0.0.1']],
  ['shop.test', ['93.184.216.34']],
  ['merchant-receiver.test', ['127.0.0.1']],
]);
async function testResolver(hostname: string): Promise<string[]> {
  const addresses = names.get(hostname);
  if (!addresses) throw Object.assign(new Error(`no such name ${hostname}`), { code: 'ENOTFOUND' });
  return addresses;
}

/** The merchant's endpoint, on loopback: it answers 200, or a redirect on /moved. */
const received: string[] = [];
const receiver = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    received.push(req.url ?? '/');
    if (req.url === '/moved') res.writeHead(307, { location: '/landing' }).end();
    else res.writeHead(200).end('ok');
  });
});
let port = 0;

let system: TestSystem;
before(async () => {
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  port = (receiver.address() as AddressInfo).port;
  system = await startTestSystem({
    env: { NOTIFY_URL_ALLOWED_HOSTS: 'merchant-receiver.test', MERCHANT_NOTIFY_RETRY_SECONDS: '1' },
    resolveHost: testResolver,
  });
});
after(async () => {
  await system?.stop();
  await new Promise((resolve) => receiver.close(resolve));
});

function create(urls: { notifyUrl?: string; returnUrl?: string }) {
  return system.api(
    'POST',
    '/v1/pay-orders',
    payOrderBody({ prefix: 'ssrf', amount: 1_000, subject: 'Tea', ...urls }),
  );
}

/** Pays the order at the simulator and answers its first merchant notification's tries. */
async function payAndWatchNotification(id: string) {
  const { outTradeNo } = await openChannelOrder(system, id, { channel: 'sandbox' });
  await payerPays(system, outTradeNo);
  return eventually(
    async () => {
      const view = await system.api('GET', `/v1/pay-orders/${id}`);
      const notification = view.body.notifications?.[0];
      return notification?.attempts.length > 0 && notification;
    },
    { what: 'a delivery try' },
  );
}

const refused = [
  'http://127.0.0.1/notify',
  'http://127.0.0.1:5432/',
  'http://localhost:3000/notify',
  'http://api.localhost/notify',
  'http://10.0.0.1/notify',
  'http://172.16.5.4/notify',
  'http://192.168.1.1/notify',
  'http://169.254.169.254/latest/meta-data/',
  'http://100.64.0.1/notify',
  'http://100.100.100.200/latest/meta-data/',
  'http://0.0.0.0/notify',
  'http://224.0.0.1/notify',
  'http://255.255.255.255/notify',
  'http://0x7f.1/notify',
  'http://2130706433/notify',
  'http://127.1/notify',
  'http://0177.0.0.1/notify',
  'http://[::1]/notify',
  'http://[::]/notify',
  'http://[::ffff:127.0.0.1]/notify',
  'http://[::ffff:a9fe:a9fe]/notify',
  'http://[fe80::1]/notify',
  'http://[fd00::1]/notify',
  'http://[ff02::1]/notify',
  'http://internal.test/notify',
  'http://metadata.test/notify',
  'https://mixed.test/notify',
];

describe('notify URL safety (issue 12)', () => {
  it('issue 12: notify URLs into internal networks are refused at create, naming the field', async () => {
    const answers = await Promise.all(refused.map((notifyUrl) => create({ notifyUrl })));
    const wrong = refused.filter(
      (url, i) =>
        answers[i]!.status !== 400 ||
        answers[i]!.body.code !== 'VALIDATION_FAILED' ||
        !answers[i]!.body.errors?.some((e: { field: string }) => e.field === 'body.notifyUrl'),
    );
    assert.deepEqual(wrong, [], 'every internal address answers 400 naming body.notifyUrl');
  });

  it('issue 12: a return URL into an internal network is refused at create too', async () => {
    const answer = await create({ returnUrl: 'http://[::ffff:127.0.0.1]/back' });
    assert.equal(answer.status, 400);
    assert.deepEqual(
      answer.body.errors.map((e: { field: string }) => e.field),
      ['body.returnUrl'],
    );
  });

  it('issue 12: public addresses and names are accepted', async () => {
    for (const notifyUrl of [
      'https://93.184.216.34/notify',
      'https://[2606:4700:4700::1111]/notify',
      'https://shop.test/paycenter/notify',
      // unresolvable now: accepted, the delivery resolves and checks again
      'https://not-yet-in-dns.test/notify',
    ]) {
      const answer = await create({ notifyUrl, returnUrl: 'https://shop.test/thanks' });
      assert.equal(answer.status, 201, `${notifyUrl}: ${JSON.stringify(answer.body)}`);
    }
  });

  it('issue 12: an allow-listed host on loopback is accepted and delivered to', async () => {
    const created = await create({ notifyUrl: `http://merchant-receiver.test:${port}/allowed` });
    assert.equal(created.status, 201);
    const notification = await payAndWatchNotification(created.body.id);
    assert.equal(notification.status, 'DELIVERED');
    assert.deepEqual(notification.attempts[0].responseStatus, 200);
    assert.ok(received.includes('/allowed'));
  });

  it('issue 12: a name that resolves to a private address at delivery (DNS rebinding) is refused as ADDRESS_NOT_ALLOWED', async () => {
    names.set('rebind.test', ['93.184.216.34']);
    const created = await create({ notifyUrl: `http://rebind.test:${port}/rebound` });
    assert.equal(created.status, 201);
    names.set('rebind.test', ['127.0.0.1']);

    const notification = await payAndWatchNotification(created.body.id);
    assert.notEqual(notification.status, 'DELIVERED');
    assert.equal(notification.attempts[0].responseStatus, null);
    assert.equal(notification.attempts[0].error, 'ADDRESS_NOT_ALLOWED');
    assert.ok(!received.includes('/rebound'), 'nothing reached the internal address');
  });

  it('issue 12: a redirect from the merchant is not followed', async () => {
    const created = await create({ notifyUrl: `http://merchant-receiver.test:${port}/moved` });
    const notification = await payAndWatchNotification(created.body.id);
    assert.notEqual(notification.status, 'DELIVERED');
    assert.equal(notification.attempts[0].responseStatus, 307);
    assert.equal(notification.attempts[0].error, 'HTTP_3XX');
    assert.ok(!received.includes('/landing'), 'the redirect target was never called');
  });

  it('issue 12: a failed try shows the merchant an error category, not the address or the raw error', async () => {
    const closedPort = await freePort();
    const created = await create({ notifyUrl: `http://merchant-receiver.test:${closedPort}/x` });
    const notification = await payAndWatchNotification(created.body.id);
    assert.equal(notification.attempts[0].error, 'CONNECTION_REFUSED');
  });
});
