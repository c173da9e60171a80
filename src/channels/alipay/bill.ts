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
import { readZip, writeZip } from './zip';

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

/** The bill zip for one Beijing day, as Alipay serves it (GBK CSVs, names included). */
export function buildTradeBill(pid: string, day: string, entries: BillEntry[], now = new Date()) {
  const { from, to } = businessDayBounds(day);
  const compact = day.replaceAll('-', '');
  const rows = entries.map((e) => {
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
  });
  const payments = entries.filter((e) => e.kind === 'PAYMENT');
  const refunds = entries.filter((e) => e.kind === 'REFUND');
  const sum = (list: BillEntry[]) => toYuan(list.reduce((total, e) => total + e.amount, 0));
  const detail = [
    '#支付宝业务明细查询',
    `#账号：[${pid}]`,
    `#起始日期：[${chineseDate(from)}]   终止日期：[${chineseDate(to)}]`,
    `#${rule}业务明细列表${rule}`,
    billColumns.join(','),
    ...rows,
    `#${rule}业务明细列表结束${rule}`,
    `#交易合计：${payments.length}笔，商家实收共：${sum(payments)}元，商家优惠共：0.00元`,
    `#退款合计：${refunds.length}笔，商家实收退款共：-${sum(refunds)}元，商家优惠退款共：0.00元`,
    `#导出时间：[${chineseDate(now)}]`,
  ].join('\r\n');
  const summary = [
    '#支付宝业务汇总查询',
    `#账号：[${pid}]`,
    `#起始日期：[${chineseDate(from)}]   终止日期：[${chineseDate(to)}]`,
    '门店编号,门店名称,交易订单总笔数,退款订单总笔数,订单金额（元）,商家实收（元）',
    ['', '', payments.length, refunds.length, sum(payments), sum(payments)].map(String).join(','),
    `#导出时间：[${chineseDate(now)}]`,
  ].join('\r\n');
  return writeZip(
    [
      { name: `${pid}_${compact}${billDetailSuffix}`, data: encodeGbk(`${detail}\r\n`) },
      { name: `${pid}_${compact}${billSummarySuffix}`, data: encodeGbk(`${summary}\r\n`) },
    ],
    now,
  );
}

/** Reads the detail CSV of a trade bill zip into statement lines; throws on an unknown layout. */
export function parseTradeBill(zip: Buffer): StatementLine[] {
  const entries = readZip(zip);
  const detail = entries.find(
    (e) => e.name.endsWith(billDetailSuffix) && !e.name.endsWith(billSummarySuffix),
  );
  if (!detail) throw new Error(`no ${billDetailSuffix} in the bill zip`);
  const text = decodeGbk(detail.data);
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '' && !l.startsWith('#'));
  const [header, ...rows] = lines;
  if (!header) throw new Error('bill has no header line');
  const columns = header.split(',').map((c) => c.trim());
  const index = (name: BillColumn) => {
    const i = columns.indexOf(name);
    if (i < 0) throw new Error(`bill has no column ${name}`);
    return i;
  };
  const at = {
    tradeNo: index('支付宝交易号'),
    outTradeNo: index('商户订单号'),
    kind: index('业务类型'),
    finished: index('完成时间'),
    orderAmount: index('订单金额（元）'),
    received: index('商家实收（元）'),
    refundNo: index('退款批次号/请求号'),
  };
  return rows.map((row, n) => {
    const cells = row.split(',').map((c) => c.trim());
    const get = (i: number) => cells[i] ?? '';
    const kind = get(at.kind);
    if (kind !== billKinds.payment && kind !== billKinds.refund) {
      throw new Error(`bill line ${n + 1}: unknown 业务类型 "${kind}"`);
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
  });
}
