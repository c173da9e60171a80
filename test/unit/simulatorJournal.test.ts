// The simulator's journal: each change on disk before the call that made it returns, replayed at
// start (a torn last line dropped), compacted when it grows, one process per file; and a simulator
// started on the journal a crash left behind carries on: an owed notification continues its retry
// schedule, bank-card orders keep their query ids, refunds and pending settlements.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { randomInt } from 'node:crypto';
import {
  appendFileSync,
  copyFileSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { createBankcardAdapter } from '../../src/channels/bankcard/adapter';
import { channelCredentials } from '../../src/channels/credentials';
import { generateChannelKeys } from '../../src/channels/keys';
import { loadConfig } from '../../src/config';
import { simulatorFaces } from '../../simulator/faces';
import { Journal, JournalError } from '../../simulator/journal';
import { buildSimulator } from '../../simulator/server';
import { freePort } from '../support/ports';
import { eventually } from '../support/system';

let dir: string;
before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'paycenter-journal-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
const newFile = () => path.join(dir, `journal-${++files}.jsonl`);

/** Opens, reads `table` as plain entries, closes. */
function contents(file: string, table = 't'): [string, unknown][] {
  const journal = Journal.open(file);
  const rows = [...journal.table(table).entries()];
  journal.close();
  return rows;
}

describe('journal', () => {
  it('keeps every change, on disk before the call returns, and replays them', () => {
    const file = newFile();
    const journal = Journal.open(file);
    const t = journal.table<{ n: number }>('t');
    t.set('a', { n: 1 });
    assert.match(readFileSync(file, 'utf8'), /"a",\{"n":1\}/);
    t.set('b', { n: 2 });
    t.delete('a');
    journal.atomically(() => {
      t.set('c', { n: 3 });
      t.set('b', { n: 4 });
    });
    // A change made together is one line.
    assert.equal(readFileSync(file, 'utf8').trim().split('\n').length, 4);
    journal.close();
    assert.deepEqual(contents(file), [
      ['b', { n: 4 }],
      ['c', { n: 3 }],
    ]);
  });

  it('drops a torn last line (and appends after it cleanly); refuses a corrupt line within', () => {
    const file = newFile();
    const journal = Journal.open(file);
    journal.table('t').set('a', 1);
    journal.close();
    appendFileSync(file, '[["t","b",2]');
    const reopened = Journal.open(file);
    assert.deepEqual(reopened.recovery, { lines: 1, tornBytes: 12 });
    reopened.table('t').set('c', 3);
    reopened.close();
    assert.deepEqual(contents(file), [
      ['a', 1],
      ['c', 3],
    ]);

    const corrupt = newFile();
    writeFileSync(corrupt, '[["t","a",1]]\n{oops\n[["t","b",2]]\n');
    assert.throws(() => Journal.open(corrupt), /journal-\d+\.jsonl:2: not a journal line/);
    // Refused files stay unlocked.
    writeFileSync(corrupt, '');
    Journal.open(corrupt).close();
  });

  it('compacts when it grows, keeping what the tables hold', () => {
    const file = newFile();
    const journal = Journal.open(file, { compactAtBytes: 4096 });
    const t = journal.table<{ n: number; text: string }>('t');
    for (let n = 0; n < 300; n++) t.set(`k${n % 10}`, { n, text: 'x'.repeat(50) });
    t.delete('k0');
    // 300 changes of ~80 bytes; compaction keeps it about its live size.
    assert.ok(statSync(file).size < 8192, `${statSync(file).size} bytes`);
    journal.close();
    const rows = new Map(contents(file));
    assert.equal(rows.size, 9);
    assert.equal((rows.get('k9') as { n: number }).n, 299);
  });

  it('is used by one process at a time; the lock of a killed process is taken over', async () => {
    const file = newFile();
    const journal = Journal.open(file);
    assert.throws(() => Journal.open(file), JournalError);
    journal.close();
    Journal.open(file).close();

    // A lock naming a live process (our parent) refuses; one naming a dead process does not.
    writeFileSync(`${file}.lock`, String(process.ppid));
    assert.throws(() => Journal.open(file), new RegExp(`in use by process ${process.ppid}`));
    const child = spawn(process.execPath, ['-e', '']);
    await once(child, 'exit');
    writeFileSync(`${file}.lock`, String(child.pid));
    Journal.open(file).close();
  });
});

const keys = generateChannelKeys();
const log = pino({ level: 'silent' });
const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const ulid = () => Array.from({ length: 26 }, () => alphabet[randomInt(32)]).join('');

/**
 * A simulator with every face, as `npm start` wires it, on `file`; each at an address of its own,
 * so that no connection pooled to an earlier one is reused. With a bank-card adapter that calls it.
 */
async function simulatorOn(file: string) {
  const config = loadConfig({
    SIMULATOR_PORT: String(await freePort()),
    SIMULATOR_NOTIFY_RETRY_SECONDS: '1,1,1,1',
  });
  const journal = Journal.open(file);
  const { app, gateway } = buildSimulator({
    publicUrl: config.simulatorUrl,
    log,
    journal,
    faces: simulatorFaces(config, keys, journal),
  });
  app.addHook('onClose', async () => journal.close());
  await app.listen({ host: '127.0.0.1', port: config.SIMULATOR_PORT });
  const bankcard = createBankcardAdapter(channelCredentials(config, keys).bankcard!, {
    timeoutMs: 2000,
  });
  return { app, gateway, bankcard, url: config.simulatorUrl };
}

/**
 * The journal as a SIGKILL at this instant would leave it: every answered change is on disk
 * already, so a copy of the file is that crash's image.
 */
function crashImage(file: string): string {
  const image = `${file}.crash`;
  copyFileSync(file, image);
  return image;
}

describe('a simulator started on the journal a crash left', () => {
  let receiver: ReturnType<typeof createServer>;
  let notifyUrl: string;
  let accepting = false;

  before(async () => {
    receiver = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        if (accepting) res.writeHead(200).end('success');
        else res.writeHead(500).end('down');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    notifyUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/webhooks/sandbox`;
  });
  after(() => new Promise((resolve) => receiver.close(resolve)));

  it('continues an owed notification on its retry schedule, attempts counted on', async () => {
    const file = newFile();
    const first = await simulatorOn(file);
    const outTradeNo = `RETRY${Date.now()}`;
    first.gateway.createTrade('sandbox', {
      out_trade_no: outTradeNo,
      total_amount: 990,
      currency: 'CNY',
      subject: 'Tea',
      method: 'page',
      time_expire: new Date(Date.now() + 600_000).toISOString(),
      notify_url: notifyUrl,
    });
    first.gateway.pay(outTradeNo, { force: false });
    await eventually(async () => first.gateway.inspect(outTradeNo).notifications.length > 0, {
      what: 'the first attempt',
      intervalMs: 10,
    });
    const image = crashImage(file);
    await first.app.close();
    const crashed = contents(image, 'trades')[0]![1] as { notifications: unknown[] };
    assert.ok(crashed.notifications.length >= 1);

    accepting = true;
    const second = await simulatorOn(image);
    try {
      const attempts = await eventually(
        async () => {
          const entries = second.gateway.inspect(outTradeNo).notifications;
          return entries.at(-1)?.outcome === 'acknowledged' && entries;
        },
        { what: 'the acknowledged attempt' },
      );
      assert.deepEqual(
        attempts.map((entry) => entry.attempt),
        [...crashed.notifications.keys(), crashed.notifications.length],
      );
      assert.ok(attempts.slice(0, -1).every((entry) => entry.outcome.startsWith('HTTP 500')));
      assert.equal((await second.gateway.queryTrade(outTradeNo)).trade_status, 'TRADE_SUCCESS');
      // One notification, sent until acknowledged: every delivery carries its one notify_id.
      assert.equal(new Set(attempts.map((entry) => entry.notifyId)).size, 1);
    } finally {
      await second.app.close();
    }
  });

  it('bank card: orders keep their query ids and refunds, an accepted card is still charged', async () => {
    const file = newFile();
    const first = await simulatorOn(file);
    let adapter = first.bankcard;
    const order = (outTradeNo: string, amount: number) => ({
      outTradeNo,
      amount,
      currency: 'CNY' as const,
      subject: 'Two coffees',
      method: 'quick',
      expiresAt: new Date(Date.now() + 3600_000).toISOString(),
      notifyUrl,
    });
    const charged = `T${ulid()}`;
    const refundNo = `rf_${ulid()}`;
    const created = await adapter.createOrder(order(charged, 1000));
    assert.equal(created.outcome?.status, 'SUCCEEDED');
    assert.equal(
      await adapter.refund({ outTradeNo: charged, refundNo, amount: 400 }),
      'PROCESSING',
    );
    await fetch(`${first.url}/bankcard/control/next-card`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ outcome: 'accepted', settleAfterMs: 1500 }),
    });
    const accepted = `T${ulid()}`;
    assert.equal((await adapter.createOrder(order(accepted, 500))).outcome?.status, 'PENDING');
    const image = crashImage(file);
    await first.app.close();

    const second = await simulatorOn(image);
    adapter = second.bankcard;
    try {
      const queried = await adapter.queryOrder(charged);
      assert.equal(queried.status, 'SUCCEEDED');
      assert.equal(queried.channelTradeNo, created.channelTradeNo);
      assert.equal(await adapter.queryRefund(charged, refundNo), 'SUCCEEDED');
      assert.equal((await adapter.queryOrder(accepted)).status, 'PENDING');
      const settled = await eventually(
        async () => {
          const fact = await adapter.queryOrder(accepted);
          return fact.status === 'SUCCEEDED' && fact;
        },
        { what: 'the accepted card to be charged' },
      );
      assert.equal(settled.amount, 500);
    } finally {
      await second.app.close();
    }
  });
});
