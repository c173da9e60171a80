// The money invariant at the end of an e2e scenario: paycenter's books of one pay order (its API)
// and the channel's own books of each of its channel orders (the simulator), judged by the domain's
// checker once nothing is in flight.
import assert from 'node:assert/strict';
import {
  checkMoney,
  type ChannelTrade,
  type MoneyBooks,
  type MoneyVerdict,
} from '../../src/domain/moneyInvariant';

/** Where the books are read: the merchant API and the simulator's control API. */
type Reader = (method: string, path: string) => Promise<{ status: number; body: any }>;
export interface BooksSource {
  api: Reader;
  simulator: Reader;
}

interface ViewedAttempt {
  id: string;
  outTradeNo: string;
  channel: string;
  status: string;
  amount: number;
  paidAmount?: number | null;
}

interface SimulatorTrade {
  channel: string;
  trade_status: string;
  total_amount: number;
  refunds: { refund_status: string; refund_amount: number }[];
}

/** The channel's books of one channel order; one it never created holds nothing. */
async function channelTrade(system: BooksSource, attempt: ViewedAttempt): Promise<ChannelTrade> {
  const answer = await system.simulator('GET', `/control/payments/${attempt.outTradeNo}`);
  if (answer.status === 404)
    return { outTradeNo: attempt.outTradeNo, paidAmount: 0, refundedAmount: 0 };
  assert.equal(answer.status, 200, `the simulator on trade ${attempt.outTradeNo}`);
  const trade = answer.body as SimulatorTrade;
  assert.equal(trade.channel, attempt.channel, `the channel of trade ${attempt.outTradeNo}`);
  return {
    outTradeNo: attempt.outTradeNo,
    paidAmount: trade.trade_status === 'TRADE_SUCCESS' ? trade.total_amount : 0,
    refundedAmount: trade.refunds
      .filter((r) => r.refund_status === 'REFUND_SUCCESS')
      .reduce((sum, r) => sum + r.refund_amount, 0),
  };
}

/** One pay order's books as the merchant API shows them, with the channel's view of each trade. */
export async function moneyBooks(system: BooksSource, payOrderId: string): Promise<MoneyBooks> {
  const answer = await system.api('GET', `/v1/pay-orders/${payOrderId}`);
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  return booksOfView(system, answer.body);
}

/** The books of a pay order view already read, with the channel's view of each trade. */
export async function booksOfView(
  system: BooksSource,
  view: {
    status: string;
    amount: number;
    attempts: ViewedAttempt[];
    refunds: MoneyBooks['refunds'];
  },
): Promise<MoneyBooks> {
  const attempts = view.attempts;
  return {
    order: { status: view.status, amount: view.amount },
    attempts,
    refunds: view.refunds,
    channel: await Promise.all(attempts.map((a) => channelTrade(system, a))),
  };
}

/**
 * Waits (bounded, polling) until nothing of the pay order is in flight and money is conserved;
 * fails with the violation (or what is still moving) otherwise. Answers the verdict's sums.
 */
export async function expectMoneyConserved(
  system: BooksSource,
  payOrderId: string,
  { timeoutMs = 30_000, intervalMs = 250 } = {},
): Promise<{ netAtChannel: number; expected: number }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const verdict: MoneyVerdict = checkMoney(await moneyBooks(system, payOrderId));
    if (!verdict.inFlight && verdict.ok) return verdict;
    if (Date.now() > deadline) {
      const problem = verdict.inFlight
        ? `still in flight: ${verdict.message}`
        : `${verdict.code}: ${verdict.message}`;
      assert.fail(`money invariant of pay order ${payOrderId}: ${problem}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * For a scenario that ends with the order still open (no verdict yet): the channel holds nothing
 * for any of its channel orders.
 */
export async function expectNothingCollected(system: BooksSource, payOrderId: string) {
  const books = await moneyBooks(system, payOrderId);
  for (const trade of books.channel ?? []) {
    assert.deepEqual(
      [trade.paidAmount, trade.refundedAmount],
      [0, 0],
      `the channel's books of ${trade.outTradeNo} (pay order ${payOrderId})`,
    );
  }
}
