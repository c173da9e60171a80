// What the Temporal UI shows as a payment's current details, in Markdown: its status, why it needs
// an operator, its channel orders, the queries done and the next one's time, and its refunds. The
// run sets them after every change (setCurrentDetails: a query answer, not a history event).
import { formatMinorUnits } from '../../domain/currencies';
import { openAttempt, type PayOrderState } from '../../domain/payOrder';
import type { AnomalyKind, RefundView } from '../contracts/payment';

/** Why the order needs an operator: a short code (AttentionReason) and the whole reason. */
export interface Attention {
  code: string;
  reason: string;
}

export interface PaymentDetails {
  state: PayOrderState;
  attention: Attention | undefined;
  anomalies: readonly AnomalyKind[];
  refunds: readonly RefundView[];
  queriesDone: number;
  /** When the open channel order is next asked about, if it is. */
  nextQueryAtMs: number | undefined;
}

export function currentDetails(details: PaymentDetails): string {
  const { state, attention, anomalies, refunds } = details;
  const money = (amount: number) => `${formatMinorUnits(amount, state.currency)} ${state.currency}`;
  const paid = state.attempts.find((a) => a.id === state.paidAttemptId);
  const lines = [
    `**${state.status}**${paid ? ` · paid by ${paid.channel} ${paid.method} \`${paid.outTradeNo}\`` : ''}`,
  ];
  if (state.needsAttention) {
    lines.push(
      '',
      `**Needs attention: ${attention?.code ?? 'FLAGGED'}**${attention ? ` · ${attention.reason}` : ''}`,
    );
  }
  if (anomalies.length > 0) lines.push('', `Anomalies made harmless: ${anomalies.join(', ')}`);
  if (state.attempts.length > 0) {
    // A blank line before each list: the UI's Markdown starts no list inside a paragraph.
    lines.push('', 'Channel orders:', '');
    for (const a of state.attempts) {
      const paidAmount = a.paidAmount !== undefined ? `, paid ${money(a.paidAmount)}` : '';
      lines.push(`- \`${a.outTradeNo}\` ${a.channel} ${a.method}: ${a.status}${paidAmount}`);
    }
  }
  const open = openAttempt(state);
  if (open && open.status !== 'OPENING') {
    const next = details.nextQueryAtMs;
    lines.push(
      '',
      `Queries of \`${open.outTradeNo}\`: ${details.queriesDone} done` +
        (next !== undefined ? `, next at ${new Date(next).toISOString()}` : ''),
    );
  }
  if (refunds.length > 0) {
    lines.push('', 'Refunds:', '');
    for (const r of refunds)
      lines.push(`- \`${r.id}\` ${money(r.amount)} ${r.reason}: ${r.status}`);
  }
  return lines.join('\n');
}
