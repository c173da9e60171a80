// Reconciliation at scale: one channel's statement of a day with N lines (the sandbox bill, and
// Alipay's zipped GBK CSV) against books holding the same payments, seeded with COPY rather than
// through the API, with 0.1% of the day planted as differences of every class. The statement is
// handed to the simulator whole and served over HTTP, and the real reconcileDay workflow runs it
// on a worker process of its own: seconds, that worker's peak RSS, every planted difference
// found and none invented, and how the cost grows from the smaller day to the larger.
import {
  createWriteStream,
  mkdtempSync,
  openAsBlob,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Client } from '@temporalio/client';
import postgres from 'postgres';
import { writeTradeBillFile, type BillEntry } from '../src/channels/alipay/bill';
import { sandboxBillColumns } from '../src/channels/sandbox/protocol';
import { businessDayBounds } from '../src/domain/businessDay';
import {
  differenceKinds,
  type DifferenceKind,
  type ReconciliationReport,
} from '../src/domain/reconciliation';
import { demoMerchantId, generateSecret } from '../src/services/merchants';
import {
  reconcileDayWorkflow,
  reconcileDayWorkflowId,
} from '../src/workflows/contracts/reconcileDay';
import { processMemory, throwawayDatabase, type Stack } from './stack';
import { wallNow } from './stats';
import { historyIntervals } from './timeShare';

/** The statement formats measured: the sandbox's CSV and Alipay's zip of GBK CSVs. */
export const reconcileChannels = ['sandbox', 'alipay'] as const;
export type ReconcileChannel = (typeof reconcileChannels)[number];

/** Share of a day's payments planted as differences, spread over every class. */
const plantedShare = 0.001;
/** One payment in this many also has a refund on the day (a line of its own). */
const refundEvery = 10;

export interface ReconcileRun {
  channel: ReconcileChannel;
  day: string;
  lines: number;
  statementBytes: number;
  seconds: number;
  /** The reconciling worker's peak resident memory during the run (VmHWM, reset before it). */
  workerPeakRss: number;
  /** Whether the peak could be reset before the run; if not, it is the peak since the worker began. */
  peakResetBeforeRun: boolean;
  planted: Partial<Record<DifferenceKind, number>>;
  found: Partial<Record<DifferenceKind, number>>;
  /** Planted differences not found, and found ones not planted ("kind reference"), at most 10. */
  missed: string[];
  invented: string[];
  missedCount: number;
  inventedCount: number;
  matchedPayments: number;
  matchedRefunds: number;
  expectedMatchedPayments: number;
  expectedMatchedRefunds: number;
  /** Seeding the books and writing the statement file (not part of `seconds`). */
  prepareSeconds: number;
  /** Where the run's seconds went, from its history: each activity (summed) and dispatch waits. */
  secondsBy: Record<string, number>;
}

export interface ReconcileResult {
  sizes: number[];
  runs: ReconcileRun[];
  /** Per channel: seconds of the larger day over seconds of the smaller (linear ≈ size ratio). */
  costRatio: Partial<Record<ReconcileChannel, number>>;
  sizeRatio: number;
}

/** One payment of the day and what the books and the statement say of it. */
interface Unit {
  payOrderId: string;
  attemptId: string;
  outTradeNo: string;
  tradeNo: string;
  amount: number;
  /** When it was paid (and, for its refund, refunded): within the day. */
  at: string;
  /** The attempt as the books hold it; absent for a payment the books never had. */
  book?: { status: 'SUCCEEDED' | 'CLOSED'; amount: number };
  /** The amount of its statement line; absent when the statement does not book it. */
  lineAmount?: number;
  refund?: {
    id: string;
    /** As the books hold it; absent for a refund we never asked for. */
    book?: { status: 'SUCCEEDED' | 'PROCESSING' | 'FAILED'; amount: number };
    lineAmount?: number;
  };
  planted?: { kind: DifferenceKind; reference: string };
}

/** The day's payments, planted ones spread evenly among them; the same on every call. */
function* dayUnits(prefix: string, day: string, units: number): Generator<Unit> {
  const planted = Math.max(differenceKinds.length, Math.round(units * plantedShare));
  const stride = Math.floor(units / planted);
  const from = businessDayBounds(day).from.getTime();
  for (let i = 0; i < units; i++) {
    const n = `${prefix}${String(i).padStart(8, '0')}`;
    const amount = 100 + (i % 9_000);
    const unit: Unit = {
      payOrderId: `po_${n}`,
      attemptId: `att_${n}`,
      outTradeNo: n,
      tradeNo: `T${n}`,
      amount,
      at: new Date(from + Math.floor((i / units) * 86_000_000) + 1000).toISOString(),
      book: { status: 'SUCCEEDED', amount },
      lineAmount: amount,
    };
    const refundId = `rf_${n}`;
    const refundAmount = Math.max(1, Math.floor(amount / 2));
    const matchedRefund = {
      id: refundId,
      book: { status: 'SUCCEEDED' as const, amount: refundAmount },
      lineAmount: refundAmount,
    };
    const slot = i % stride === stride - 1 ? Math.floor(i / stride) : -1;
    const kind =
      slot >= 0 && slot < planted ? differenceKinds[slot % differenceKinds.length] : undefined;
    switch (kind) {
      case undefined:
        if (i % refundEvery === refundEvery - 1) unit.refund = matchedRefund;
        break;
      case 'MISSED_PAYMENT':
        unit.book = { status: 'CLOSED', amount };
        break;
      case 'UNKNOWN_PAYMENT':
        delete unit.book;
        break;
      case 'MISSING_AT_CHANNEL':
        delete unit.lineAmount;
        break;
      case 'AMOUNT_MISMATCH':
        unit.lineAmount = amount + 1;
        break;
      case 'REFUND_NOT_FINAL':
        unit.refund = { ...matchedRefund, book: { status: 'PROCESSING', amount: refundAmount } };
        break;
      case 'REFUND_FAILED_IN_BOOKS':
        unit.refund = { ...matchedRefund, book: { status: 'FAILED', amount: refundAmount } };
        break;
      case 'UNKNOWN_REFUND':
        unit.refund = { id: refundId, lineAmount: refundAmount };
        break;
      case 'REFUND_MISSING_AT_CHANNEL':
        unit.refund = { id: refundId, book: matchedRefund.book };
        break;
      case 'REFUND_AMOUNT_MISMATCH':
        unit.refund = { ...matchedRefund, lineAmount: refundAmount + 1 };
        break;
    }
    if (kind) {
      const reference = kind.startsWith('REFUND') || kind === 'UNKNOWN_REFUND' ? refundId : n;
      unit.planted = { kind, reference };
    }
    yield unit;
  }
}

/** A COPY text-format row. */
const row = (values: (string | number | null)[]) =>
  values.map((v) => (v === null ? '\\N' : String(v))).join('\t') + '\n';

/** Rows in pieces of a thousand, so COPY gets few large writes. */
function* rows<T>(items: Iterable<T>, toRow: (item: T) => string | undefined) {
  let piece = '';
  let count = 0;
  for (const item of items) {
    const text = toRow(item);
    if (text === undefined) continue;
    piece += text;
    if (++count % 1000 === 0) {
      yield piece;
      piece = '';
    }
  }
  if (piece) yield piece;
}

/** Seeds the books with the day's pay orders, channel orders and refunds, by COPY. */
async function seedBooks(sql: postgres.Sql, channel: string, units: () => Iterable<Unit>) {
  const expires = '2099-01-01T00:00:00Z';
  const copy = async (statement: postgres.PendingQuery<postgres.Row[]>, data: Iterable<string>) =>
    pipeline(Readable.from(data), await statement.writable());
  await copy(
    sql`copy pay_orders (id, merchant_id, merchant_order_no, amount, currency, subject, status,
      expires_at, paid_attempt_id, paid_at, workflow_started) from stdin`,
    rows(units(), (u) => {
      if (!u.book) return undefined;
      const paid = u.book.status === 'SUCCEEDED';
      return row([
        u.payOrderId,
        demoMerchantId,
        u.outTradeNo,
        u.amount,
        'CNY',
        'bench',
        paid ? 'SUCCEEDED' : 'CLOSED',
        expires,
        paid ? u.attemptId : null,
        paid ? u.at : null,
        't',
      ]);
    }),
  );
  await copy(
    sql`copy channel_attempts (id, pay_order_id, channel, method, out_trade_no, amount, currency,
      status, channel_trade_no, paid_at) from stdin`,
    rows(units(), (u) => {
      if (!u.book) return undefined;
      const paid = u.book.status === 'SUCCEEDED';
      return row([
        u.attemptId,
        u.payOrderId,
        channel,
        'page',
        u.outTradeNo,
        u.book.amount,
        'CNY',
        u.book.status,
        paid ? u.tradeNo : null,
        paid ? u.at : null,
      ]);
    }),
  );
  await copy(
    sql`copy refunds (id, pay_order_id, merchant_id, attempt_id, amount, currency, reason, status,
      created_at, updated_at) from stdin`,
    rows(units(), (u) => {
      const refund = u.refund?.book;
      if (!refund || !u.book) return undefined;
      return row([
        u.refund!.id,
        u.payOrderId,
        demoMerchantId,
        u.attemptId,
        refund.amount,
        'CNY',
        'MERCHANT_REQUEST',
        refund.status,
        u.at,
        u.at,
      ]);
    }),
  );
  await sql`analyze pay_orders, channel_attempts, refunds`;
}

/** The statement's lines of the day, in the channel's bill terms. */
function* billEntries(units: Iterable<Unit>): Generator<BillEntry> {
  for (const u of units) {
    const common = {
      tradeNo: u.tradeNo,
      outTradeNo: u.outTradeNo,
      subject: '两杯咖啡',
      createdAt: u.at,
      at: u.at,
    };
    if (u.lineAmount !== undefined) yield { ...common, kind: 'PAYMENT', amount: u.lineAmount };
    if (u.refund?.lineAmount !== undefined) {
      yield { ...common, kind: 'REFUND', amount: u.refund.lineAmount, refundNo: u.refund.id };
    }
  }
}

/** Writes the statement file as the channel serves it; answers its line count. */
async function writeStatement(
  file: string,
  channel: ReconcileChannel,
  day: string,
  units: () => Iterable<Unit>,
): Promise<number> {
  let lines = 0;
  const counted = function* () {
    for (const e of billEntries(units())) {
      lines += 1;
      yield e;
    }
  };
  if (channel === 'alipay') {
    await writeTradeBillFile(file, '2088000000000001', day, counted());
    return lines;
  }
  const csv = function* () {
    yield sandboxBillColumns.join(',') + '\n';
    let piece = '';
    for (const e of counted()) {
      piece +=
        [e.kind, e.outTradeNo, e.tradeNo, e.amount, 'CNY', e.refundNo ?? '', e.at].join(',') + '\n';
      if (lines % 1000 === 0) {
        yield piece;
        piece = '';
      }
    }
    yield piece;
  };
  await pipeline(Readable.from(csv()), createWriteStream(file));
  return lines;
}

/** Makes the peak RSS of a process start again from now (Linux: clear_refs 5); false if refused. */
function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

export async function runReconcileAtScale(
  stack: Stack,
  client: Client,
  simulatorUrl: string,
  options: { sizes: number[]; log: (line: string) => void },
): Promise<ReconcileResult> {
  // Books of their own: the million seeded payments never meet the other phases' books or disk
  // figures, and go with the database at the end.
  const books = await throwawayDatabase(
    `${stack.databaseName}_reconcile`,
    generateSecret('pk_bench'),
    Buffer.from(stack.env.PAYCENTER_SECRET_KEY!, 'hex'),
  );
  const taskQueue = 'reconcile-bench';
  const worker = await stack
    .start('worker', { TEMPORAL_TASK_QUEUE: taskQueue, DATABASE_URL: books.url })
    .catch(async (err) => {
      await books.drop();
      throw err;
    });
  const sql = postgres(books.url, { max: 1, onnotice: () => {} });
  const folder = mkdtempSync(path.join(os.tmpdir(), 'paycenter-bench-statements-'));
  const runs: ReconcileRun[] = [];
  try {
    let dayIndex = 0;
    for (const size of options.sizes) {
      for (const channel of reconcileChannels) {
        // Days long past, one per run, so that no run's statement books another's payments and
        // every 短款 is over its hold at once.
        const day = new Date(Date.UTC(2025, 0, 1 + dayIndex)).toISOString().slice(0, 10);
        const prefix = `B${dayIndex++}X`;
        const units = () => dayUnits(prefix, day, Math.round(size / (1 + 1 / refundEvery)));
        options.log(`reconcile: ${channel} ${day}, seeding books and writing ~${size} lines`);
        const prepared = wallNow();
        await seedBooks(sql, channel, units);
        const file = path.join(folder, `${channel}-${day}`);
        const lines = await writeStatement(file, channel, day, units);
        const upload = await fetch(`${simulatorUrl}/control/statements/${channel}/${day}`, {
          method: 'PUT',
          headers: { 'content-type': 'application/octet-stream' },
          body: await openAsBlob(file),
        });
        if (upload.status !== 201) {
          throw new Error(`statement upload: HTTP ${upload.status} ${await upload.text()}`);
        }
        const prepareSeconds = (wallNow() - prepared) / 1000;

        options.log(`reconcile: ${channel} ${day}, ${lines} lines: running reconcileDay`);
        const peakResetBeforeRun = resetPeakRss(worker.pid);
        const started = wallNow();
        const report = (await client.workflow.execute(reconcileDayWorkflow.type, {
          workflowId: reconcileDayWorkflowId(taskQueue, { channel, day }),
          taskQueue,
          args: [{ channel, day }],
        })) as ReconciliationReport;
        const seconds = (wallNow() - started) / 1000;
        const workerPeakRss = processMemory(worker.pid).peakRss;
        const history = await client.workflow
          .getHandle(reconcileDayWorkflowId(taskQueue, { channel, day }))
          .fetchHistory();
        const secondsBy: Record<string, number> = {};
        for (const { label, from, to } of historyIntervals(history.events ?? [])) {
          secondsBy[label] = Math.round(((secondsBy[label] ?? 0) + (to - from) / 1000) * 10) / 10;
        }

        const planted = new Map<string, DifferenceKind>();
        let expectedMatchedPayments = 0;
        let expectedMatchedRefunds = 0;
        for (const u of units()) {
          if (u.planted) planted.set(`${u.planted.kind} ${u.planted.reference}`, u.planted.kind);
          const paymentPlanted = u.planted && !u.planted.kind.includes('REFUND');
          if (!paymentPlanted && u.lineAmount !== undefined) expectedMatchedPayments += 1;
          if (u.refund && !u.planted && u.refund.lineAmount !== undefined)
            expectedMatchedRefunds += 1;
        }
        const recorded = await sql<{ kind: DifferenceKind; reference: string }[]>`
          select kind, reference from reconciliation_differences
          where channel = ${channel} and day = ${day}`;
        const found = new Set(recorded.map((r) => `${r.kind} ${r.reference}`));
        const missed = [...planted.keys()].filter((k) => !found.has(k));
        const invented = [...found].filter((k) => !planted.has(k));
        const byKind = (kinds: Iterable<DifferenceKind>) => {
          const counts: Partial<Record<DifferenceKind, number>> = {};
          for (const kind of kinds) counts[kind] = (counts[kind] ?? 0) + 1;
          return counts;
        };
        runs.push({
          channel,
          day,
          lines,
          statementBytes: statSync(file).size,
          seconds: Math.round(seconds * 10) / 10,
          workerPeakRss,
          peakResetBeforeRun,
          planted: byKind(planted.values()),
          found: byKind(recorded.map((r) => r.kind)),
          missed: missed.slice(0, 10),
          invented: invented.slice(0, 10),
          missedCount: missed.length,
          inventedCount: invented.length,
          matchedPayments: report.matched.payments,
          matchedRefunds: report.matched.refunds,
          expectedMatchedPayments,
          expectedMatchedRefunds,
          prepareSeconds: Math.round(prepareSeconds * 10) / 10,
          secondsBy,
        });
        rmSync(file, { force: true });
        await fetch(`${simulatorUrl}/control/statements`, { method: 'DELETE' });
      }
    }
  } finally {
    rmSync(folder, { recursive: true, force: true });
    await sql.end({ timeout: 5 });
    await worker.stop();
    await books.drop();
  }
  const sizes = [...options.sizes].sort((a, b) => a - b);
  const costRatio: ReconcileResult['costRatio'] = {};
  for (const channel of reconcileChannels) {
    const mine = runs.filter((r) => r.channel === channel).sort((a, b) => a.lines - b.lines);
    if (mine.length >= 2) {
      costRatio[channel] = Math.round((mine.at(-1)!.seconds / mine[0]!.seconds) * 100) / 100;
    }
  }
  return {
    sizes,
    runs,
    costRatio,
    sizeRatio: sizes.length >= 2 ? Math.round((sizes.at(-1)! / sizes[0]!) * 100) / 100 : 1,
  };
}
