// The bank-card channel (ACP 5.1-like): its signatures, and the adapter against an in-process
// simulator.
import assert from 'node:assert/strict';
import { createHash, createVerify, randomInt } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { createBankcardAdapter, toPayStatus } from '../../src/channels/bankcard/adapter';
import {
  bankcardPaths,
  decodeForm,
  encodeForm,
  formatAcpTime,
  fromAcpOrderId,
  signFields,
  signingString,
  toAcpOrderId,
  verifyFields,
  type AcpFields,
} from '../../src/channels/bankcard/protocol';
import type { BankcardCredentials } from '../../src/channels/credentials';
import { generateChannelKeys, generateKeyPair } from '../../src/channels/keys';
import {
  ChannelRejectedError,
  ChannelUnavailableError,
  type ChannelAdapter,
  type VerifiedNotification,
} from '../../src/channels/types';
import { DomainError } from '../../src/domain/errors';
import { bankcardFace } from '../../simulator/faces/bankcard';
import { buildSimulator } from '../../simulator/server';
import { freePort } from '../support/ports';
import { readStatement } from '../support/statements';

const MER_ID = '777290058110048';
const keys = generateChannelKeys();
const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const ulid = () => Array.from({ length: 26 }, () => alphabet[randomInt(32)]).join('');
const tradeNo = () => `T${ulid()}`;
const refundNo = () => `rf_${ulid()}`;
const inAnHour = () => new Date(Date.now() + 3600_000).toISOString();

let simulatorUrl: string;
let notifyUrl: string;
let closeAll: () => Promise<void>;
const received: VerifiedNotification[] = [];

function credentials(overrides: Partial<BankcardCredentials> = {}): BankcardCredentials {
  return {
    merId: MER_ID,
    signPrivateKey: keys.bankcard.merchant.privateKey,
    signCertId: keys.bankcard.merchant.serial,
    verifyPublicKey: keys.bankcard.platform.publicKey,
    verifyCertId: keys.bankcard.platform.serial,
    gatewayUrl: `${simulatorUrl}/bankcard`,
    ...overrides,
  };
}

let adapter: ChannelAdapter;

async function nextCard(body: object) {
  const response = await fetch(`${simulatorUrl}/bankcard/control/next-card`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  assert.equal(response.status, 200, await response.text());
}

function order(outTradeNo: string, amount = 1234) {
  return {
    outTradeNo,
    amount,
    currency: 'CNY' as const,
    subject: 'Two coffees',
    method: 'quick',
    expiresAt: inAnHour(),
    notifyUrl,
  };
}

async function eventually<T>(check: () => Promise<T | undefined>, what: string): Promise<T> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const address = server.address() as { port: number };
      resolve(`http://127.0.0.1:${address.port}`);
    }),
  );
}

before(async () => {
  const port = await freePort();
  simulatorUrl = `http://127.0.0.1:${port}`;
  adapter = createBankcardAdapter(credentials(), { timeoutMs: 2000 });
  const receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      try {
        received.push(adapter.verifyNotification({ headers: req.headers, rawBody: body }));
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      } catch {
        res.writeHead(401).end('fail');
      }
    });
  });
  notifyUrl = `${await listen(receiver)}/webhooks/bankcard`;
  const { app } = buildSimulator({
    publicUrl: simulatorUrl,
    log: pino({ level: 'silent' }),
    faces: [
      bankcardFace({
        merId: MER_ID,
        merchantPublicKey: keys.bankcard.merchant.publicKey,
        merchantCertId: keys.bankcard.merchant.serial,
        platformPrivateKey: keys.bankcard.platform.privateKey,
        platformCertId: keys.bankcard.platform.serial,
        retrySeconds: [1, 1],
        publicUrl: simulatorUrl,
      }),
    ],
  });
  await app.listen({ port, host: '127.0.0.1' });
  closeAll = async () => {
    await app.close();
    await new Promise((r) => receiver.close(r));
  };
});

after(async () => closeAll());

describe('ACP signatures (signMethod 01)', () => {
  const { privateKey, publicKey, serial } = keys.bankcard.merchant;
  const fields: AcpFields = { version: '5.1.0', txnAmt: '1', orderId: 'T0001ABCD', merId: MER_ID };

  it('signs base64(RSA-SHA256(hex(SHA-256(sorted k=v&...)))) with the certId in the message', () => {
    const signed = signFields(fields, privateKey, serial);
    assert.equal(signed.certId, serial);
    assert.equal(signed.signMethod, '01');
    const text = signingString(signed);
    assert.equal(
      text,
      `certId=${serial}&merId=${MER_ID}&orderId=T0001ABCD&signMethod=01&txnAmt=1&version=5.1.0`,
    );
    const digest = createHash('sha256').update(text).digest('hex');
    assert.ok(
      createVerify('RSA-SHA256').update(digest).verify(publicKey, signed.signature!, 'base64'),
    );
    assert.ok(verifyFields(signed, publicKey, serial));
  });

  it('survives the form encoding both ways (+, /, = and UTF-8 in values)', () => {
    const signed = signFields({ ...fields, orderDesc: '两杯咖啡 a+b=c/d&e' }, privateKey, serial);
    const back = decodeForm(encodeForm(signed))!;
    assert.deepEqual(back, signed);
    assert.ok(verifyFields(back, publicKey, serial));
  });

  it('refuses a tampered value, another key, another certId, no signature, a repeated key', () => {
    const signed = signFields(fields, privateKey, serial);
    assert.equal(verifyFields({ ...signed, txnAmt: '2' }, publicKey, serial), false);
    assert.equal(verifyFields({ ...signed, extra: 'x' }, publicKey, serial), false);
    const other = generateKeyPair();
    assert.equal(
      verifyFields(signFields(fields, other.privateKey, serial), publicKey, serial),
      false,
    );
    assert.equal(verifyFields(signFields(fields, privateKey, 'OTHER'), publicKey, serial), false);
    const { signature: _s, ...unsigned } = signed;
    assert.equal(verifyFields(unsigned, publicKey, serial), false);
    assert.equal(decodeForm(`${encodeForm(signed)}&txnAmt=2`), undefined);
  });

  it('orderIds: ours map to ACP letters and digits and back', () => {
    const rf = refundNo();
    assert.match(toAcpOrderId(rf), /^rf[0-9A-Z]{26}$/);
    assert.equal(fromAcpOrderId(toAcpOrderId(rf)), rf);
    const t = tradeNo();
    assert.equal(toAcpOrderId(t), t);
    assert.equal(fromAcpOrderId(t), t);
    assert.throws(() => toAcpOrderId('short'));
  });

  it('origRespCode maps in one switch: 00 paid, 03/04/05 pending, others closed', () => {
    assert.equal(toPayStatus('00'), 'SUCCEEDED');
    for (const code of ['03', '04', '05']) assert.equal(toPayStatus(code), 'PENDING');
    for (const code of ['01', '30', '61', '64', '65', '99', 'ZZ'])
      assert.equal(toPayStatus(code), 'CLOSED');
  });
});

describe('consume (quick pay)', () => {
  it('a card charged at once: SUCCEEDED with the queryId, then a verified notification', async () => {
    const outTradeNo = tradeNo();
    const created = await adapter.createOrder(order(outTradeNo));
    assert.equal(created.payUrl, undefined);
    assert.match(created.channelTradeNo!, /^\d{21}$/);
    assert.deepEqual(created.outcome, {
      outTradeNo,
      status: 'SUCCEEDED',
      amount: 1234,
      channelTradeNo: created.channelTradeNo,
      source: 'query',
    });
    const notified = await eventually(
      async () => received.find((n) => n.fact.outTradeNo === outTradeNo),
      'the notification',
    );
    assert.equal(notified.fact.status, 'SUCCEEDED');
    assert.equal(notified.fact.amount, 1234);
    assert.equal(notified.fact.channelTradeNo, created.channelTradeNo);
    assert.equal(notified.dedupeKey, `${created.channelTradeNo}:00`);
    const queried = await adapter.queryOrder(outTradeNo);
    assert.equal(queried.status, 'SUCCEEDED');
    assert.equal(queried.amount, 1234);
  });

  it('a declined card (64 insufficient balance by default) is CLOSED, and stays so', async () => {
    await nextCard({ outcome: 'declined' });
    const outTradeNo = tradeNo();
    const created = await adapter.createOrder(order(outTradeNo));
    assert.equal(created.outcome?.status, 'CLOSED');
    assert.equal(created.outcome?.declineCode, '64');
    const queried = await adapter.queryOrder(outTradeNo);
    assert.equal(queried.status, 'CLOSED');
    assert.equal(queried.declineCode, '64');
    await nextCard({ outcome: 'declined', respCode: '65' });
    const again = await adapter.createOrder(order(tradeNo()));
    assert.equal(again.outcome?.status, 'CLOSED');
    assert.equal(again.outcome?.declineCode, '65');
  });

  for (const outcome of ['accepted', 'unknown'] as const) {
    it(`${outcome}: PENDING, then the query (and notification) learn the success`, async () => {
      await nextCard({ outcome, settleAfterMs: 150 });
      const outTradeNo = tradeNo();
      const created = await adapter.createOrder(order(outTradeNo, 500));
      assert.equal(created.outcome?.status, 'PENDING');
      assert.equal((await adapter.queryOrder(outTradeNo)).status, 'PENDING');
      const paid = await eventually(async () => {
        const fact = await adapter.queryOrder(outTradeNo);
        return fact.status === 'SUCCEEDED' ? fact : undefined;
      }, 'the settlement');
      assert.equal(paid.amount, 500);
      await eventually(
        async () => received.find((n) => n.fact.outTradeNo === outTradeNo),
        'the notification',
      );
    });
  }

  it('a read timeout is ChannelUnavailableError; the card is still charged later', async () => {
    const impatient = createBankcardAdapter(credentials(), { timeoutMs: 200 });
    await nextCard({ outcome: 'timeout', settleAfterMs: 700 });
    const outTradeNo = tradeNo();
    await assert.rejects(impatient.createOrder(order(outTradeNo)), ChannelUnavailableError);
    assert.equal((await adapter.queryOrder(outTradeNo)).status, 'PENDING');
    await eventually(async () => {
      const fact = await adapter.queryOrder(outTradeNo);
      return fact.status === 'SUCCEEDED' ? fact : undefined;
    }, 'the late charge');
  });

  it('a repeated consume (same orderId) answers what the channel knows', async () => {
    const outTradeNo = tradeNo();
    await adapter.createOrder(order(outTradeNo));
    const again = await adapter.createOrder(order(outTradeNo));
    assert.equal(again.outcome?.status, 'SUCCEEDED');
  });

  it('amounts are exact fen: 1 and 999999999999; 0, negative, fractions, non-CNY refused', async () => {
    for (const amount of [1, 999_999_999_999]) {
      const created = await adapter.createOrder(order(tradeNo(), amount));
      assert.equal(created.outcome?.amount, amount);
    }
    for (const amount of [0, -1, 1.5, 1e13]) {
      await assert.rejects(adapter.createOrder(order(tradeNo(), amount)), ChannelRejectedError);
    }
    await assert.rejects(
      adapter.createOrder({ ...order(tradeNo()), currency: 'USD' }),
      ChannelRejectedError,
    );
  });

  it('a request signed with another key is refused by the simulator (respCode 11, signed)', async () => {
    const other = generateKeyPair();
    const forged = createBankcardAdapter(credentials({ signPrivateKey: other.privateKey }), {
      timeoutMs: 2000,
    });
    await assert.rejects(forged.createOrder(order(tradeNo())), (err: unknown) => {
      assert.ok(err instanceof ChannelRejectedError);
      assert.equal(err.channelCode, '11');
      return true;
    });
  });
});

describe('query and close', () => {
  it('an order the channel never saw is NOT_FOUND', async () => {
    const fact = await adapter.queryOrder(tradeNo());
    assert.equal(fact.status, 'NOT_FOUND');
  });

  it('close before the charge cancels it; the late settlement then never charges', async () => {
    await nextCard({ outcome: 'accepted', settleAfterMs: 400 });
    const outTradeNo = tradeNo();
    await adapter.createOrder(order(outTradeNo));
    assert.deepEqual(await adapter.closeOrder(outTradeNo), { kind: 'closed' });
    assert.equal((await adapter.queryOrder(outTradeNo)).status, 'CLOSED');
    await new Promise((r) => setTimeout(r, 600));
    assert.equal((await adapter.queryOrder(outTradeNo)).status, 'CLOSED');
    assert.deepEqual(await adapter.closeOrder(outTradeNo), { kind: 'closed' });
  });

  it('close after the charge answers alreadyPaid with the fact', async () => {
    const outTradeNo = tradeNo();
    const created = await adapter.createOrder(order(outTradeNo, 777));
    const answer = await adapter.closeOrder(outTradeNo);
    assert.equal(answer.kind, 'alreadyPaid');
    assert.ok(answer.kind === 'alreadyPaid');
    assert.equal(answer.fact.status, 'SUCCEEDED');
    assert.equal(answer.fact.amount, 777);
    assert.equal(answer.fact.channelTradeNo, created.channelTradeNo);
  });

  it('close of an order the channel never saw is closed', async () => {
    assert.deepEqual(await adapter.closeOrder(tradeNo()), { kind: 'closed' });
  });
});

describe('refund and statement', () => {
  it('refunds a paid order (accepted, then SUCCEEDED by query); repeats are one refund', async () => {
    const outTradeNo = tradeNo();
    await adapter.createOrder(order(outTradeNo, 1000));
    const rf = refundNo();
    assert.equal(await adapter.refund({ outTradeNo, refundNo: rf, amount: 400 }), 'PROCESSING');
    assert.equal(await adapter.refund({ outTradeNo, refundNo: rf, amount: 400 }), 'PROCESSING');
    assert.equal(await adapter.queryRefund(outTradeNo, rf), 'SUCCEEDED');
    await assert.rejects(
      adapter.refund({ outTradeNo, refundNo: refundNo(), amount: 601 }),
      ChannelRejectedError,
    );
    assert.equal(
      await adapter.refund({ outTradeNo, refundNo: refundNo(), amount: 600 }),
      'PROCESSING',
    );
    assert.equal(await adapter.queryRefund(outTradeNo, refundNo()), 'FAILED');
  });

  it('an order not paid cannot be refunded', async () => {
    await nextCard({ outcome: 'declined' });
    const outTradeNo = tradeNo();
    await adapter.createOrder(order(outTradeNo));
    await assert.rejects(
      adapter.refund({ outTradeNo, refundNo: refundNo(), amount: 1 }),
      ChannelRejectedError,
    );
  });

  it("the day's statement lists the payment and the refund, in fen", async () => {
    const outTradeNo = tradeNo();
    const created = await adapter.createOrder(order(outTradeNo, 2599));
    const rf = refundNo();
    await adapter.refund({ outTradeNo, refundNo: rf, amount: 99 });
    const day = formatAcpTime(new Date())
      .slice(0, 8)
      .replace(/^(\d{4})(\d{2})(\d{2})$/, '$1-$2-$3');
    const statement = await readStatement(adapter, day);
    assert.ok(statement.raw.length > 0);
    const payment = statement.lines.find(
      (l) => l.kind === 'PAYMENT' && l.outTradeNo === outTradeNo,
    );
    assert.deepEqual(
      { ...payment, at: undefined },
      {
        kind: 'PAYMENT',
        outTradeNo,
        channelTradeNo: created.channelTradeNo,
        amount: 2599,
        currency: 'CNY',
        at: undefined,
      },
    );
    const refund = statement.lines.find((l) => l.kind === 'REFUND' && l.refundNo === rf);
    assert.ok(refund);
    assert.equal(refund.outTradeNo, outTradeNo);
    assert.equal(refund.amount, 99);
    assert.equal(refund.channelTradeNo, created.channelTradeNo);
    assert.ok(Math.abs(Date.parse(refund.at) - Date.now()) < 60_000);
    // Every declined or unpaid order stays out of it.
    assert.ok(statement.lines.every((l) => l.currency === 'CNY'));
  });
});

describe('answers and notifications that are not the platform’s', () => {
  const platform = keys.bankcard.platform;
  const answerFields = (orderId: string): AcpFields => ({
    version: '5.1.0',
    encoding: 'UTF-8',
    txnType: '00',
    merId: MER_ID,
    orderId,
    respCode: '00',
    origRespCode: '00',
    txnAmt: '1234',
    queryId: '202611251200000000001',
  });

  /** A fake gateway that answers every query with `answer(orderId)`. */
  async function fakeGateway(answer: (orderId: string) => string) {
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        const orderId = decodeForm(body)?.orderId ?? '';
        res
          .writeHead(200, { 'content-type': 'application/x-www-form-urlencoded' })
          .end(answer(orderId));
      });
    });
    const url = await listen(server);
    return {
      adapter: createBankcardAdapter(credentials({ gatewayUrl: url }), { timeoutMs: 2000 }),
      close: () => new Promise((r) => server.close(r)),
    };
  }

  const forgeries: [string, (orderId: string) => string][] = [
    [
      'genuine (control)',
      (id) => encodeForm(signFields(answerFields(id), platform.privateKey, platform.serial)),
    ],
    [
      'signed with another key',
      (id) =>
        encodeForm(signFields(answerFields(id), generateKeyPair().privateKey, platform.serial)),
    ],
    [
      'tampered after signing',
      (id) =>
        encodeForm({
          ...signFields(answerFields(id), platform.privateKey, platform.serial),
          txnAmt: '1',
        }),
    ],
    [
      'naming another certId',
      (id) => encodeForm(signFields(answerFields(id), platform.privateKey, 'OTHER')),
    ],
    ['unsigned', (id) => encodeForm(answerFields(id))],
    [
      'signed by the platform for another order',
      () =>
        encodeForm(signFields(answerFields('T0000OTHER'), platform.privateKey, platform.serial)),
    ],
  ];

  for (const [name, answer] of forgeries) {
    it(`an answer ${name} ${name.startsWith('genuine') ? 'is read' : 'is not believed'}`, async () => {
      const fake = await fakeGateway(answer);
      try {
        const outTradeNo = tradeNo();
        if (name.startsWith('genuine')) {
          assert.equal((await fake.adapter.queryOrder(outTradeNo)).status, 'SUCCEEDED');
        } else {
          await assert.rejects(fake.adapter.queryOrder(outTradeNo), ChannelUnavailableError);
        }
      } finally {
        await fake.close();
      }
    });
  }

  const notification = (): AcpFields => ({
    version: '5.1.0',
    encoding: 'UTF-8',
    bizType: '000301',
    txnType: '01',
    txnSubType: '01',
    accessType: '0',
    merId: MER_ID,
    orderId: tradeNo(),
    txnTime: formatAcpTime(new Date()),
    txnAmt: '1234',
    currencyCode: '156',
    queryId: '202611251200000000002',
    respCode: '00',
    respMsg: 'ok',
  });
  const verify = (rawBody: string) => adapter.verifyNotification({ headers: {}, rawBody });
  const invalidSignature = (err: unknown) =>
    err instanceof DomainError && err.code === 'INVALID_SIGNATURE';

  it('a genuine notification verifies', () => {
    const n = notification();
    const verified = verify(encodeForm(signFields(n, platform.privateKey, platform.serial)));
    assert.equal(verified.fact.outTradeNo, n.orderId);
    assert.equal(verified.fact.status, 'SUCCEEDED');
    assert.equal(verified.fact.amount, 1234);
    assert.equal(verified.fact.source, 'notify');
  });

  it('forged, tampered, wrong-certId, unsigned and garbage notifications are INVALID_SIGNATURE', () => {
    const n = notification();
    const genuine = signFields(n, platform.privateKey, platform.serial);
    const bodies = [
      encodeForm(signFields(n, keys.bankcard.merchant.privateKey, platform.serial)),
      encodeForm({ ...genuine, txnAmt: '1' }),
      encodeForm(signFields(n, platform.privateKey, keys.bankcard.merchant.serial)),
      encodeForm(n),
      'not a form at all',
      '',
      `${encodeForm(genuine)}&respCode=00`,
    ];
    for (const body of bodies) assert.throws(() => verify(body), invalidSignature, body);
  });

  it('a genuine notification for another merchant is malformed, not a payment', () => {
    const n = { ...notification(), merId: '123456789012345' };
    assert.throws(
      () => verify(encodeForm(signFields(n, platform.privateKey, platform.serial))),
      (err: unknown) => err instanceof DomainError && err.code === 'VALIDATION_FAILED',
    );
  });

  it('the query path answers signed forms even for refusals', async () => {
    const response = await fetch(`${simulatorUrl}/bankcard${bankcardPaths.query}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'orderId=T0001ABCD',
    });
    const fields = decodeForm(await response.text())!;
    assert.equal(fields.respCode, '11');
    assert.ok(verifyFields(fields, platform.publicKey, platform.serial));
  });
});
