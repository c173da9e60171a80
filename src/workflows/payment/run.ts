// The state of one payment run and the only ways it changes: `save` after every change, `applyFact`
// for what a channel says, the operator's flag, and the serializer every change runs under. The
// message handlers (../payment.ts), the channel calls (./channelOrders.ts) and the phases
// (./phases.ts) all act through it.
import {
  ApplicationFailure,
  isCancellation,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import type { PayOrderChange, PayOrderRecordActivities } from '../../activities/payOrderRecords';
import { newId } from '../../domain/ids';
import {
  defaultMerchantNotifyRetrySeconds,
  type MerchantEventData,
  type MerchantEventType,
} from '../../domain/merchantEvents';
import {
  applyChannelFact,
  newPayOrderState,
  openAttempt,
  paidAmountOf,
  type Attempt,
  type ChannelFact,
  type ExtraPaymentReason,
  type PayOrderState,
} from '../../domain/payOrder';
import {
  defaultQuerySchedule,
  needsAttentionAfter,
  type QuerySchedule,
} from '../../domain/querySchedule';
import {
  handOver,
  searchAttributes,
  type AnomalyKind,
  type PassingFlag,
  type PaymentInput,
  type PaymentResume,
  type PayOrderView,
  type RefundView,
} from '../contracts/payment';
import type { RefundRecord } from '../contracts/merchantRefund';
import { startMerchantNotification, tellMerchant } from '../merchantNotification';
import { refundOwed } from '../refund';
import {
  attemptView,
  closeOpenAttempts,
  type ChannelOrderRun,
  type FactContext,
} from './channelOrders';
import { currentDetails, type Attention } from './details';

const recordOptions = {
  startToCloseTimeout: '10s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
} as const;
const records = proxyActivities<PayOrderRecordActivities>(recordOptions);
/**
 * The same writes as local activities (since `local-records`): run by the worker inside the
 * workflow task that asks for them, with no activity task and no workflow task of their own. The
 * books order them by the task's time, then version (PayOrderChange.taskAt), so that a write of
 * a task Temporal never committed gives way to the task run in its place. Tried for a bounded
 * time only: a local activity holds its workflow task (and the history grows while it does), so a
 * save the database does not take by then is handed to the activity above.
 */
const localRecords = proxyLocalActivities<PayOrderRecordActivities>({
  ...recordOptions,
  scheduleToCloseTimeout: '30s',
});

/**
 * The shapes of the payment workflow, oldest first: the patch a run started since a shape was
 * introduced takes with every change of that shape and of the shapes before it at once. Each patch
 * costs a new run a history marker and a visibility write, so one stands for all. Runs started
 * before a shape check each of its changes by the change's own patch (`takes`).
 */
const shapes = [
  {
    patch: 'payment-shape-2',
    changes: [
      'query-fallback',
      'continue-as-new',
      'late-facts-applied',
      'compensating-refund',
      'amount-mismatch-refund',
      'unreachable-flag-clears',
      'open-past-expiry-flag-passes',
      'close-without-holding',
      'merchant-notification',
      'no-first-save',
      'upsert-changes-only',
      'merchant-delivery-first',
    ],
  },
  { patch: 'payment-shape-3', changes: ['open-between-saves'] },
  { patch: 'payment-shape-4', changes: ['operator-attributes'] },
  { patch: 'payment-shape-5', changes: ['flag-reason-in-books'] },
  { patch: 'payment-shape-6', changes: ['local-records'] },
];

export class PayOrderRun implements ChannelOrderRun {
  private current: PayOrderState;
  /** The changes this run started with (its shape's and the shapes' before it). */
  private readonly startedWith: ReadonlySet<string>;
  private version: number;
  /** Channel facts received and not yet applied. */
  readonly facts: ChannelFact[];
  /** Every change to the order runs under it, one at a time, in arrival order. */
  readonly serialized = serializer();
  readonly schedule: QuerySchedule;
  /** Active queries of the current open channel order, and how many in a row learnt nothing. */
  queriesDone: number;
  failuresInARow: number;
  readonly refunds: RefundView[];
  /** Compensating refunds under way; the workflow does not complete before they end. */
  readonly compensations: Promise<void>[] = [];
  compensating = 0;
  /** Merchant events whose first delivery try is under way; the workflow waits for them. */
  tellingMerchant = 0;
  /** Set while the run waits for its handlers to finish before continuing as new. */
  handingOver = false;
  /**
   * Set while the order is flagged only for a reason that passes by itself (PassingFlag): the
   * workflow clears that flag once the reason has passed, so that operators see only orders that
   * still need them. Any other reason makes the flag stay until an operator clears it.
   */
  passingFlag: PassingFlag | undefined;
  /** Why the order needs an operator, while it does (AttentionReason and the current details). */
  attention: Attention | undefined;
  /** The anomalies this order met, in the order met (AnomalyKinds). */
  private readonly anomalies: AnomalyKind[];
  /** When the open channel order is next asked about, while the run waits for that. */
  nextQueryAtMs: number | undefined;
  /** This run continues an earlier one of the same pay order (continue-as-new). */
  readonly resumed: boolean;
  /** The task time of the run's last save since `local-records` (PayOrderChange.taskAt). */
  private savedInTaskAt: number | undefined;

  constructor(readonly input: PaymentInput) {
    // The newest shape this run started with: a new run records only the newest one's marker.
    const shape = [...shapes].reverse().findIndex((s) => patched(s.patch));
    const count = shape < 0 ? 0 : shapes.length - shape;
    this.startedWith = new Set(shapes.slice(0, count).flatMap((s) => s.changes));
    const resumed = input.resume;
    this.resumed = resumed !== undefined;
    this.current =
      resumed?.state ??
      newPayOrderState({
        id: input.payOrderId,
        amount: input.amount,
        currency: input.currency,
        expiresAtMs: Date.parse(input.expiresAt),
      });
    this.version = resumed?.version ?? 0;
    this.savedInTaskAt = resumed?.savedInTaskAt;
    this.facts = [...(resumed?.facts ?? [])];
    this.schedule = input.querySchedule ?? defaultQuerySchedule;
    this.queriesDone = resumed?.queriesDone ?? 0;
    this.failuresInARow = resumed?.failuresInARow ?? 0;
    this.refunds = resumed?.refunds.map((r) => ({ ...r })) ?? [];
    this.passingFlag = resumed?.passingFlag;
    this.attention = resumed?.attention;
    // An earlier run's anomalies came over with its search attributes.
    this.anomalies = [
      ...((workflowInfo().typedSearchAttributes.get(searchAttributes.anomalyKinds) ??
        []) as AnomalyKind[]),
    ];
  }

  /** Whether this run takes the change of the workflow's code named `patch`. */
  takes(patch: string): boolean {
    return this.startedWith.has(patch) || patched(patch);
  }

  /** The pay order as this run knows it; changed only by `save`. */
  get state(): PayOrderState {
    return this.current;
  }

  /**
   * Writes the state to the database and the search attributes; called after every change. Runs
   * before `local-records` send only the channel orders that changed (each row keeps the newest
   * version written to it); since, every one travels (`changeTo`).
   */
  async save(next: PayOrderState) {
    const change = this.changeTo(next);
    this.current = next;
    if (!change) return;
    this.version = change.version;
    const summary = `save v${change.version}: ${next.status}${next.needsAttention ? ', needs attention' : ''}`;
    const asActivity = () => records.savePayOrder.executeWithOptions({ summary }, [change]);
    // A change with a task time is one of `local-records` (changeTo): saved in this task.
    if (change.taskAt === undefined) {
      await asActivity();
    } else {
      try {
        await localRecords.savePayOrder.executeWithOptions({ summary }, [change]);
      } catch (err) {
        // A local activity's failure comes as its cause (a timeout, the activity's own error).
        if (isCancellation(err)) throw err;
        log.warn('the save did not go through in its workflow task; retrying it as an activity', {
          version: change.version,
          error: String(err),
        });
        await asActivity();
      }
    }
    this.showSearchAttributes();
  }

  /**
   * What `save(next)` would write: the order's fields and the channel orders that changed, at
   * the next version; undefined when nothing changed. For an activity that writes it itself
   * (`written`).
   */
  changeTo(next: PayOrderState): PayOrderChange | undefined {
    if (next === this.current && this.version > 0) return undefined;
    const { attempts, ...order } = next;
    const version = this.version + 1;
    // The reason travels with a raised flag, so the operators' queue in the books can show it.
    const attention = order.needsAttention && this.attention ? { attention: this.attention } : {};
    if (!this.takes('local-records')) {
      const previous = this.current.attempts;
      const changed = version === 1 ? attempts : attempts.filter((a) => !previous.includes(a));
      return { version, order, attempts: changed, ...attention };
    }
    // The saves reach the books before their task is committed: the task's time orders them, and
    // every channel order travels, so that a task run in place of a lost one rewrites each row the
    // lost one may have written. The time never goes back (a server's clock might).
    this.savedInTaskAt = Math.max(Date.now(), this.savedInTaskAt ?? 0);
    return { version, order, attempts, ...attention, taskAt: this.savedInTaskAt };
  }

  /** Takes `next` as the order an activity wrote at `version` (see `changeTo`). */
  written(next: PayOrderState, version: number) {
    this.current = next;
    this.version = version;
    this.showSearchAttributes();
  }

  /**
   * Shows the order's status, flag and paying channel as the workflow's search attributes, and
   * since `operator-attributes` why it is flagged and the anomalies it met; then the details.
   */
  private showSearchAttributes() {
    const paidWith = this.current.attempts.find((a) => a.id === this.current.paidAttemptId);
    if (!this.current.needsAttention) this.attention = undefined;
    const shown: SearchAttributeUpdatePair[] = [
      { key: searchAttributes.payStatus, value: this.current.status },
      { key: searchAttributes.needsAttention, value: this.current.needsAttention },
      ...(paidWith ? [{ key: searchAttributes.payChannel, value: paidWith.channel }] : []),
    ];
    if (this.takes('operator-attributes')) {
      shown.push(
        {
          key: searchAttributes.attentionReason,
          value: this.current.needsAttention ? (this.attention?.code ?? 'FLAGGED') : null,
        },
        {
          key: searchAttributes.anomalyKinds,
          value: this.anomalies.length > 0 ? [...this.anomalies] : null,
        },
      );
    }
    // Runs since `upsert-changes-only` upsert only what changed: each upsert is a visibility
    // write.
    const changes = this.takes('upsert-changes-only') ? shown.filter((p) => !isShown(p)) : shown;
    if (changes.length > 0) upsertSearchAttributes(changes);
    this.showDetails();
  }

  /** The current details the Temporal UI shows (./details.ts): no history event. */
  showDetails() {
    setCurrentDetails(
      currentDetails({
        state: this.current,
        attention: this.attention,
        anomalies: this.anomalies,
        refunds: this.refunds,
        queriesDone: this.queriesDone,
        nextQueryAtMs: this.nextQueryAtMs,
      }),
    );
  }

  /** Flags the order for an operator for a reason that does not pass by itself. */
  async flagForOperator(attention: Attention) {
    this.passingFlag = undefined;
    this.attention = attention;
    if (!this.state.needsAttention) await this.save({ ...this.state, needsAttention: true });
    // Flagged already: only the reason changes (runs before `operator-attributes` changed nothing).
    else await this.showNewReason();
  }

  /**
   * The order stays flagged for another reason: shown as AttentionReason, and since
   * `flag-reason-in-books` written to the books too (a save of the same order, at a new version).
   */
  private async showNewReason() {
    if (this.takes('operator-attributes') && this.takes('flag-reason-in-books')) {
      await this.save({ ...this.state });
    } else if (this.takes('operator-attributes')) {
      this.showSearchAttributes();
    }
  }

  /** Flags the order because the channel has not answered `failures` times in a row. */
  async flagIfUnreachable(failures: number, what: Record<string, unknown>) {
    if (!needsAttentionAfter(this.schedule, failures) || this.state.needsAttention) return;
    log.warn('the channel does not answer; flagging for an operator', { ...what, failures });
    this.passingFlag = 'CHANNEL_SILENT';
    this.attention = {
      code: 'CHANNEL_SILENT',
      reason: `the channel did not answer ${failures} times in a row`,
    };
    await this.save({ ...this.state, needsAttention: true });
  }

  /**
   * A safety-net scan saw a channel order open past the order's expiry: flagged until every
   * channel order is closed. Nothing is flagged if that is so already (the scan read older books).
   */
  async flagUntilClosed() {
    if (!openAttempt(this.state)) {
      log.info('no channel order is open any more; nothing to flag');
      return;
    }
    if (this.state.needsAttention && this.passingFlag === undefined) return;
    this.passingFlag = 'OPEN_PAST_EXPIRY';
    this.attention = {
      code: 'OPEN_PAST_EXPIRY',
      reason: 'a channel order is open past the order’s expiry',
    };
    if (!this.state.needsAttention) await this.save({ ...this.state, needsAttention: true });
    // Flagged already (CHANNEL_SILENT): only the reason changes.
    else await this.showNewReason();
  }

  /**
   * The channel answered: a query learnt the status (`learnt`), or every channel order is
   * confirmed closed (`closed`). A flag whose reason has passed with it is cleared.
   */
  async channelAnswered(how: 'learnt' | 'closed') {
    if (!this.passingFlag || (this.passingFlag === 'OPEN_PAST_EXPIRY' && how === 'learnt')) return;
    if (!this.takes('unreachable-flag-clears')) return;
    log.info('the reason for the flag has passed; clearing it', { reason: this.passingFlag });
    this.passingFlag = undefined;
    if (this.state.needsAttention) await this.save({ ...this.state, needsAttention: false });
  }

  /**
   * Applies what a channel says. `context` says how the run learnt it: a success the run asked
   * for (`asked`: a query or close of the open channel order) was missed by the notifications.
   */
  async applyFact(fact: ChannelFact, context: FactContext = 'told') {
    const { state: next, outcome } = applyChannelFact(this.state, fact);
    if (outcome.kind === 'ignored') {
      log.info('channel fact ignored', { outTradeNo: fact.outTradeNo, reason: outcome.reason });
      return;
    }
    log.info('channel fact applied', { outTradeNo: fact.outTradeNo, outcome: outcome.kind });
    let settled = next;
    if (outcome.kind === 'paid' || outcome.kind === 'extraPayment') {
      if (fact.source === 'statement') this.noteAnomaly('FOUND_BY_STATEMENT');
      else if (context === 'asked') this.noteAnomaly('FOUND_BY_QUERY');
    }
    if (outcome.kind === 'extraPayment') {
      this.noteAnomaly(outcome.reason);
      if (this.takes('compensating-refund')) {
        const paid = next.attempts.find((a) => a.id === outcome.attemptId)!;
        this.startCompensation(paid, outcome.reason);
      } else {
        this.attention = {
          code: outcome.reason,
          reason: `${outcome.reason} of ${fact.outTradeNo}`,
        };
        settled = { ...next, needsAttention: true };
      }
    }
    if (outcome.kind === 'amountMismatch') {
      // A success of another amount: the payer never meant to pay it, so it goes back.
      this.noteAnomaly('AMOUNT_MISMATCH');
      const mismatched = next.attempts.find((a) => a.id === outcome.attemptId)!;
      const attention = {
        code: 'AMOUNT_MISMATCH',
        reason: `${fact.outTradeNo} paid ${fact.amount ?? 'an unreported amount'}, not ${outcome.expected}`,
      };
      if (mismatched.status === 'AMOUNT_MISMATCH' && this.takes('amount-mismatch-refund')) {
        // Flagged while its refund is under way; since `flag-reason-in-books` it says why.
        if (this.takes('flag-reason-in-books')) this.attention = attention;
        this.startCompensation(mismatched, 'AMOUNT_MISMATCH');
      } else {
        this.attention = attention;
        settled = outcome.flagged;
      }
    }
    await this.save(settled);
    if (outcome.kind === 'paid') {
      // Best effort now; any the channel does not confirm is closed again at expiry.
      await closeOpenAttempts(this);
    }
  }

  /** Remembers an anomaly of this order, shown from the next save on. */
  private noteAnomaly(kind: AnomalyKind) {
    if (!this.anomalies.includes(kind)) this.anomalies.push(kind);
  }

  async applyFacts() {
    while (this.facts.length > 0) await this.applyFact(this.facts.shift()!);
  }

  /**
   * Tells the merchant about one event. Runs since `merchant-delivery-first` make the first
   * delivery try themselves, alongside what comes next (the run ends only after it), and start a
   * merchantNotification child only if that try fails; earlier runs start the child at once.
   * Either way the delivery runs on after this workflow completes.
   */
  async tellMerchant(type: MerchantEventType, refund?: MerchantEventData['refund']) {
    const data: MerchantEventData = {
      payOrderId: this.state.id,
      merchantOrderNo: this.input.merchantOrderNo,
      status: this.state.status,
      amount: this.state.amount,
      currency: this.state.currency,
      ...(refund ? { refund } : {}),
    };
    const retrySeconds = this.input.merchantNotifyRetrySeconds ?? defaultMerchantNotifyRetrySeconds;
    if (!this.takes('merchant-delivery-first')) {
      await startMerchantNotification(type, data, retrySeconds);
      return;
    }
    this.tellingMerchant += 1;
    void tellMerchant(type, data, retrySeconds)
      .catch((err: unknown) => log.error('the merchant could not be told', { type, err }))
      .finally(() => (this.tellingMerchant -= 1));
  }

  private startCompensation(attempt: Attempt, reason: ExtraPaymentReason) {
    this.compensating += 1;
    this.compensations.push(
      this.compensate(attempt, reason).finally(() => (this.compensating -= 1)),
    );
  }

  /**
   * Money arrived that the order does not need: refund it at the channel, with our refund ID as
   * the channel's idempotency key, and follow the refund to a final status.
   */
  private async compensate(attempt: Attempt, reason: ExtraPaymentReason) {
    const amount = paidAmountOf(attempt) ?? attempt.amount;
    const ref = {
      channel: attempt.channel,
      outTradeNo: attempt.outTradeNo,
      refundNo: newId('rf', Date.now(), Math.random),
    };
    const record: RefundRecord = {
      id: ref.refundNo,
      payOrderId: this.state.id,
      merchantId: this.input.merchantId,
      attemptId: attempt.id,
      amount,
      currency: this.state.currency,
      reason,
      status: 'PROCESSING',
    };
    const shown: RefundView = {
      id: record.id,
      amount: record.amount,
      reason,
      status: 'PROCESSING',
    };
    this.refunds.push(shown);
    log.warn('compensating refund', {
      outTradeNo: attempt.outTradeNo,
      reason,
      refundId: record.id,
    });
    await refundOwed(record, ref, this.schedule, {
      known: (status) => {
        shown.status = status;
        this.showDetails();
      },
      refused: () =>
        this.serialized(() =>
          this.flagForOperator({
            code: 'REFUND_REFUSED',
            reason: `the channel refused refund ${record.id} (${reason})`,
          }),
        ),
      refunded: (refund) =>
        this.takes('merchant-notification')
          ? this.tellMerchant('pay_order.refunded', refund)
          : undefined,
    });
  }

  /** New Updates wait for the next run (the caller retries) so that this one can end. */
  refuseWhileHandingOver() {
    if (this.handingOver) {
      throw ApplicationFailure.nonRetryable(
        'the pay order moves to a new run; try again',
        handOver,
      );
    }
  }

  /** What the next run of this pay order starts from (continue-as-new). */
  forNextRun(): PaymentResume {
    return {
      state: this.state,
      version: this.version,
      queriesDone: this.queriesDone,
      failuresInARow: this.failuresInARow,
      passingFlag: this.passingFlag,
      ...(this.attention ? { attention: this.attention } : {}),
      refunds: this.refunds,
      facts: [...this.facts],
      ...(this.savedInTaskAt === undefined ? {} : { savedInTaskAt: this.savedInTaskAt }),
    };
  }

  view(): PayOrderView {
    return {
      refunds: this.refunds.map((r) => ({ ...r })),
      id: this.state.id,
      status: this.state.status,
      needsAttention: this.state.needsAttention,
      amount: this.state.amount,
      currency: this.state.currency,
      attempts: this.state.attempts.map(attemptView),
    };
  }
}

/** Whether the run's search attributes show this value already (null: none). */
function isShown({ key, value }: SearchAttributeUpdatePair): boolean {
  const current = workflowInfo().typedSearchAttributes.get(key) ?? null;
  if (Array.isArray(value) && Array.isArray(current)) {
    return value.length === current.length && value.every((v, i) => v === current[i]);
  }
  return current === value;
}

export type Serializer = ReturnType<typeof serializer>;

/**
 * Runs tasks one at a time, in arrival order (workflow code is single-threaded but async).
 * `idle()` says whether none is queued or running.
 */
function serializer() {
  let tail: Promise<unknown> = Promise.resolve();
  let queued = 0;
  const done = () => {
    queued -= 1;
  };
  const serialized = <T>(task: () => Promise<T>): Promise<T> => {
    queued += 1;
    const run = tail.then(task, task);
    tail = run.catch(() => undefined);
    run.then(done, done);
    return run;
  };
  return Object.assign(serialized, { idle: () => queued === 0 });
}
