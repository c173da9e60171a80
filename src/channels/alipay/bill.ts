// Alipay's trade bill (业务明细), written by the simulator's face and read by the adapter.
import type { StatementLine } from '../types';
import { businessDayBounds } from '../../domain/businessDay';
import { formatChinaDateTime, parseChinaDateTime } from '../chinaTime';
import { decodeGbk, encodeGbk } from './gbk';
import {
  billColumns,
  billDetailSuffix,
  billKinds,
  billSummarySuffix,
  fromYuan,
  toYuan,
  type BillColumn,
} from './protocol';
import { readZip, writeZip, writeZipFile } from './zip';

export interface BillEntry {
  kind: 'PAYMENT' | 'REFUND';
  tradeNo: string;
  outTradeNo: string;
  subject: string;
  /** Fen. */
  amount: number;
  refundNo?: string;
  /** ISO instants. */
  createdAt: string;
  at: string;
}

const rule = '-'.repeat(41);

function chineseDate(date: Date): string {
  const [day, time] = formatChinaDateTime(date).split(' ');
  const [y, m, d] = day!.split('-');
  return `${y}年${m}月${d}日 ${time}`;
}

/** One cell: no separators inside, and the tab Alipay appends so spreadsheets keep it as text. */
function cell(value: string): string {
  return `${value.replace(/[,\r\n\t]/g, ' ')}\t`;
}

/** One row of the detail CSV. */
function billRow(e: BillEntry): string {
  const values: Record<BillColumn, string> = Object.fromEntries(
    billColumns.map((c) => [c, '']),
  ) as Record<BillColumn, string>;
  values['支付宝交易号'] = e.tradeNo;
  values['商户订单号'] = e.outTradeNo;
  values['业务类型'] = e.kind === 'PAYMENT' ? billKinds.payment : billKinds.refund;
  values['商品名称'] = e.subject;
  values['创建时间'] = formatChinaDateTime(new Date(e.createdAt));
  values['完成时间'] = formatChinaDateTime(new Date(e.at));
  values['订单金额（元）'] = toYuan(e.amount);
  values['商家实收（元）'] = e.kind === 'PAYMENT' ? toYuan(e.amount) : `-${toYuan(e.amount)}`;
  for (const c of [
    '支付宝红包（元）',
    '集分宝（元）',
    '支付宝优惠（元）',
    '商家优惠（元）',
    '券核销金额（元）',
    '商家红包消费金额（元）',
    '卡消费金额（元）',
    '服务费（元）',
    '分润（元）',
  ] as const) {
    values[c] = '0.00';
  }
  values['退款批次号/请求号'] = e.refundNo ?? '';
  return billColumns.map((c) => cell(values[c])).join(',');
}

/** Counts and fen of the bill's payments and refunds, for its closing lines and its summary. */
class BillTotals {
  payments = 0;
  paid = 0;
  refunds = 0;
  refunded = 0;
  add(e: BillEntry) {
    if (e.kind === 'PAYMENT') {
      this.payments += 1;
      this.paid += e.amount;
    } else {
      this.refunds += 1;
      this.refunded += e.amount;
    }
  }
}

/** The bill's files: their names, the detail CSV's lines around its rows, and the summary CSV. */
function billLayout(pid: string, day: string, now: Date) {
  const { from, to } = businessDayBounds(day);
  const compact = day.replaceAll('-', '');
  const period = `#起始日期：[${chineseDate(from)}]   终止日期：[${chineseDate(to)}]`;
  return {
    detailName: `${pid}_${compact}${billDetailSuffix}`,
    summaryName: `${pid}_${compact}${billSummarySuffix}`,
    head: [
      '#支付宝业务明细查询',
      `#账号：[${pid}]`,
      period,
      `#${rule}业务明细列表${rule}`,
      billColumns.join(','),
    ],
    foot: (t: BillTotals) => [
      `#${rule}业务明细列表结束${rule}`,
      `#交易合计：${t.payments}笔，商家实收共：${toYuan(t.paid)}元，商家优惠共：0.00元`,
      `#退款合计：${t.refunds}笔，商家实收退款共：-${toYuan(t.refunded)}元，商家优惠退款共：0.00元`,
      `#导出时间：[${chineseDate(now)}]`,
    ],
    summary: (t: BillTotals) =>
      [
        '#支付宝业务汇总查询',
        `#账号：[${pid}]`,
        period,
        '门店编号,门店名称,交易订单总笔数,退款订单总笔数,订单金额（元）,商家实收（元）',
        ['', '', t.payments, t.refunds, toYuan(t.paid), toYuan(t.paid)].map(String).join(','),
        `#导出时间：[${chineseDate(now)}]`,
      ].join('\r\n') + '\r\n',
  };
}

/** The bill zip for one Beijing day, as Alipay serves it (GBK CSVs, names included). */
export function buildTradeBill(pid: string, day: string, entries: BillEntry[], now = new Date()) {
  const layout = billLayout(pid, day, now);
  const totals = new BillTotals();
  for (const e of entries) totals.add(e);
  const detail = [...layout.head, ...entries.map(billRow), ...layout.foot(totals)].join('\r\n');
  return writeZip(
    [
      { name: layout.detailName, data: encodeGbk(`${detail}\r\n`) },
      { name: layout.summaryName, data: encodeGbk(layout.summary(totals)) },
    ],
    now,
  );
}

/** The same bill zip written to a file as its entries are produced: a day of any size. */
export async function writeTradeBillFile(
  file: string,
  pid: string,
  day: string,
  entries: Iterable<BillEntry>,
  now = new Date(),
): Promise<void> {
  const layout = billLayout(pid, day, now);
  const totals = new BillTotals();
  const lines = (text: string[]) => encodeGbk(text.map((line) => `${line}\r\n`).join(''));
  function* detail() {
    yield lines(layout.head);
    let rows: string[] = [];
    for (const e of entries) {
      totals.add(e);
      rows.push(billRow(e));
      if (rows.length === 1000) {
        yield lines(rows);
        rows = [];
      }
    }
    yield lines([...rows, ...layout.foot(totals)]);
  }
  await writeZipFile(
    file,
    [
      { name: layout.detailName, data: detail },
      { name: layout.summaryName, data: () => [encodeGbk(layout.summary(totals))] },
    ],
    now,
  );
}

/** Whether a file of the bill zip is its detail CSV (业务明细), not its summary (汇总). */
export function isBillDetail(name: string): boolean {
  return name.endsWith(billDetailSuffix) && !name.endsWith(billSummarySuffix);
}

/**
 * Reads the detail CSV line by line: comments and blank lines skipped, the header first, then one
 * statement line per row; `end` throws when there was no header. Throws on an unknown layout.
 */
function tradeBillReader() {
  let at:
    | Record<
        'tradeNo' | 'outTradeNo' | 'kind' | 'finished' | 'orderAmount' | 'received' | 'refundNo',
        number
      >
    | undefined;
  let n = 0;
  return {
    line(line: string): StatementLine | undefined {
      if (line.trim() === '' || line.startsWith('#')) return undefined;
      if (!at) {
        const columns = line.split(',').map((c) => c.trim());
        const index = (name: BillColumn) => {
          const i = columns.indexOf(name);
          if (i < 0) throw new Error(`bill has no column ${name}`);
          return i;
        };
        at = {
          tradeNo: index('支付宝交易号'),
          outTradeNo: index('商户订单号'),
          kind: index('业务类型'),
          finished: index('完成时间'),
          orderAmount: index('订单金额（元）'),
          received: index('商家实收（元）'),
          refundNo: index('退款批次号/请求号'),
        };
        return undefined;
      }
      n += 1;
      const cells = line.split(',').map((c) => c.trim());
      const get = (i: number) => cells[i] ?? '';
      const kind = get(at.kind);
      if (kind !== billKinds.payment && kind !== billKinds.refund) {
        throw new Error(`bill line ${n}: unknown 业务类型 "${kind}"`);
      }
      const base = {
        outTradeNo: get(at.outTradeNo),
        channelTradeNo: get(at.tradeNo),
        currency: 'CNY',
        at: parseChinaDateTime(get(at.finished)).toISOString(),
      };
      if (kind === billKinds.payment) {
        return { ...base, kind: 'PAYMENT' as const, amount: fromYuan(get(at.orderAmount)) };
      }
      const received = get(at.received);
      return {
        ...base,
        kind: 'REFUND' as const,
        amount: fromYuan(received.startsWith('-') ? received.slice(1) : received),
        ...(get(at.refundNo) ? { refundNo: get(at.refundNo) } : {}),
      };
    },
    end() {
      if (!at) throw new Error('bill has no header line');
    },
  };
}

/** Reads the detail CSV of a trade bill zip into statement lines; throws on an unknown layout. */
export function parseTradeBill(zip: Buffer): StatementLine[] {
  const detail = readZip(zip).find((e) => isBillDetail(e.name));
  if (!detail) throw new Error(`no ${billDetailSuffix} in the bill zip`);
  const reader = tradeBillReader();
  const lines = decodeGbk(detail.data)
    .split(/\r?\n/)
    .flatMap((line) => reader.line(line) ?? []);
  reader.end();
  return lines;
}

/** The statement lines of the detail CSV's text lines (decoded), as they arrive. */
export async function* tradeBillLines(text: AsyncIterable<string>): AsyncIterable<StatementLine> {
  const reader = tradeBillReader();
  for await (const line of text) {
    const entry = reader.line(line);
    if (entry) yield entry;
  }
  reader.end();
}
