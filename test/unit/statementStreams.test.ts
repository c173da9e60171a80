// Statements read as they download: lines split across the pieces a body arrives in, Alipay's bill
// zip written and read from a file a piece at a time (the same bytes and lines as whole), and the
// simulator serving a statement file handed to it to the sandbox adapter in batches.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  buildTradeBill,
  isBillDetail,
  parseTradeBill,
  tradeBillLines,
  writeTradeBillFile,
  type BillEntry,
} from '../../src/channels/alipay/bill';
import { encodeGbk } from '../../src/channels/alipay/gbk';
import { zipEntryData } from '../../src/channels/alipay/zip';
import { createSandboxAdapter } from '../../src/channels/sandbox/adapter';
import { sandboxBillColumns } from '../../src/channels/sandbox/protocol';
import { inBatches, statementBatchLines, textLines } from '../../src/channels/statements';
import type { StatementLine } from '../../src/channels/types';
import { createLogger } from '../../src/log';
import { sandboxFace } from '../../simulator/faces/sandbox';
import { buildSimulator } from '../../simulator/server';
import { freePort } from '../support/ports';
import { readStatement } from '../support/statements';

async function* pieces(...chunks: Buffer[]) {
  for (const chunk of chunks) yield chunk;
}

async function all<T>(items: AsyncIterable<T>): Promise<T[]> {
  const found: T[] = [];
  for await (const item of items) found.push(item);
  return found;
}

const folder = mkdtempSync(path.join(os.tmpdir(), 'statement-streams-'));
after(() => rmSync(folder, { recursive: true, force: true }));

const entries: BillEntry[] = Array.from({ length: 2500 }, (_, i) => ({
  kind: i % 10 === 9 ? 'REFUND' : 'PAYMENT',
  tradeNo: `2026112522001${String(i).padStart(6, '0')}`,
  outTradeNo: `T${String(i).padStart(26, '0')}`,
  subject: i % 2 ? '两杯咖啡, large' : 'tea',
  amount: 100 + i,
  ...(i % 10 === 9 ? { refundNo: `rf_${i}` } : {}),
  createdAt: '2026-11-25T02:00:00.000Z',
  at: '2026-11-25T02:00:01.000Z',
}));
const now = new Date('2026-11-26T01:00:00Z');

describe('statement streams', () => {
  it('reads lines whole when a character or a CRLF is split between two pieces of the body', async () => {
    const text = encodeGbk('交易,1\r\n退款,2\r\n');
    // Cut inside 交 (two GBK bytes) and between \r and \n.
    const cuts = [1, text.indexOf(0x0d) + 1];
    const lines = await all(
      textLines(
        pieces(text.subarray(0, cuts[0]), text.subarray(cuts[0], cuts[1]), text.subarray(cuts[1])),
        'gbk',
      ),
    );
    assert.deepEqual(lines, ['交易,1', '退款,2']);
  });

  it('hands lines on in batches of at most the batch size, in order', async () => {
    const batches = await all(inBatches(Array.from({ length: 12_001 }, (_, i) => i)));
    assert.deepEqual(
      batches.map((b) => b.length),
      [statementBatchLines, statementBatchLines, 2001],
    );
    assert.equal(batches[2]!.at(-1), 12_000);
  });

  it("writes Alipay's bill zip to a file piece by piece as the same bytes as whole, and reads the same lines from it", async () => {
    const file = path.join(folder, 'bill.zip');
    await writeTradeBillFile(file, '2088000000000001', '2026-11-25', entries, now);
    const whole = buildTradeBill('2088000000000001', '2026-11-25', entries, now);
    assert.ok(readFileSync(file).equals(whole), 'the streamed zip differs from the whole one');

    const streamed = await all(tradeBillLines(textLines(zipEntryData(file, isBillDetail), 'gbk')));
    assert.equal(streamed.length, entries.length);
    assert.deepEqual(streamed, parseTradeBill(whole));
  });

  it('refuses a bill zip whose data does not match its CRC', async () => {
    const file = path.join(folder, 'corrupt.zip');
    const zip = Buffer.from(buildTradeBill('2088000000000001', '2026-11-25', entries, now));
    zip.writeUInt8(zip.readUInt8(200) ^ 0xff, 200); // inside the detail CSV's deflated data
    writeFileSync(file, zip);
    await assert.rejects(all(zipEntryData(file, isBillDetail)));
  });
});

describe('a statement file handed to the simulator', () => {
  const appId = 'sandbox-app';
  const secret = 'sandbox-secret';
  let simulatorUrl: string;
  let stop: () => Promise<void>;

  before(async () => {
    const port = await freePort();
    simulatorUrl = `http://127.0.0.1:${port}`;
    const built = buildSimulator({
      publicUrl: simulatorUrl,
      faces: [sandboxFace({ appId, secret, retrySeconds: [1] })],
      log: createLogger('silent'),
    });
    await built.app.listen({ host: '127.0.0.1', port });
    stop = () => built.app.close();
  });
  after(() => stop());

  it('is served as the sandbox bill of its day and read by the adapter in batches, every byte recorded', async () => {
    const lines: StatementLine[] = Array.from({ length: 12_345 }, (_, i) => ({
      kind: 'PAYMENT',
      outTradeNo: `T${i}`,
      channelTradeNo: `C${i}`,
      amount: 100 + i,
      currency: 'CNY',
      at: '2026-11-25T02:00:01.000Z',
    }));
    const csv = Buffer.from(
      [
        sandboxBillColumns.join(','),
        ...lines.map((l) =>
          [l.kind, l.outTradeNo, l.channelTradeNo, l.amount, l.currency, '', l.at].join(','),
        ),
      ].join('\n') + '\n',
    );
    const upload = await fetch(`${simulatorUrl}/control/statements/sandbox/2026-11-25`, {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream' },
      body: csv,
    });
    assert.equal(upload.status, 201);

    const adapter = createSandboxAdapter({ baseUrl: simulatorUrl, appId, secret });
    const sizes: number[] = [];
    for await (const batch of adapter.fetchStatement('2026-11-25', async () => {})) {
      sizes.push(batch.length);
    }
    assert.deepEqual(sizes, [5000, 5000, 2345]);
    const statement = await readStatement(adapter, '2026-11-25');
    assert.deepEqual(statement.lines, lines);
    assert.ok(statement.raw.equals(csv), 'the recorded file differs from the one served');

    // Another day is still the statement of the simulator's own trades: none.
    assert.deepEqual((await readStatement(adapter, '2026-11-24')).lines, []);
  });

  it('refuses a statement for a channel it does not simulate', async () => {
    const upload = await fetch(`${simulatorUrl}/control/statements/nowhere/2026-11-25`, {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream' },
      body: 'x',
    });
    assert.equal(upload.status, 400);
  });
});
