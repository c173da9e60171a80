// Where an end-to-end payment's time goes: its critical path (create → merchant notified) cut
// into the driver's HTTP timings and the intervals its workflow histories record.
import type { Client } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import type { Journey } from './e2e';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

export interface Interval {
  label: string;
  from: number;
  to: number;
}

const activityLabels: Record<string, string> = {
  savePayOrder: 'activity: DB write',
  recordMerchantEvent: 'activity: DB write',
  openChannelOrder: 'activity: channel call',
  openChannelOrderBetweenSaves: 'activity: channel call between DB writes',
  queryChannelOrder: 'activity: channel call',
  closeChannelOrder: 'activity: channel call',
  deliverMerchantEvent: 'activity: merchant delivery (HTTP + DB)',
  recordAndDeliverMerchantEvent: 'activity: merchant delivery (HTTP + DB)',
};

/** A workflow task that ran local activities (payment-shape-6: the DB writes). */
const localActivityLabel = 'worker: workflow code and local activities (DB writes)';

const ms = (e: HistoryEvent) =>
  Number(e.eventTime?.seconds ?? 0) * 1000 + (e.eventTime?.nanos ?? 0) / 1e6;

/** The intervals a history records: queue waits, workflow code, activity executions. */
export function historyIntervals(events: HistoryEvent[]): Interval[] {
  const at = new Map<number, { time: number; name?: string }>();
  const out: Interval[] = [];
  let lastWorkflowTask: Interval | undefined;
  for (const e of events) {
    const id = Number(e.eventId);
    const time = ms(e);
    const from = (eventId: unknown) => at.get(Number(eventId));
    if (e.activityTaskScheduledEventAttributes) {
      at.set(id, { time, name: e.activityTaskScheduledEventAttributes.activityType?.name ?? '' });
    } else if (e.activityTaskStartedEventAttributes) {
      const scheduled = from(e.activityTaskStartedEventAttributes.scheduledEventId);
      if (scheduled) {
        out.push({ label: 'temporal: activity task dispatch', from: scheduled.time, to: time });
        at.set(id, { time, name: scheduled.name });
      }
    } else if (e.activityTaskCompletedEventAttributes) {
      const started = from(e.activityTaskCompletedEventAttributes.startedEventId);
      if (started) {
        const label = activityLabels[started.name ?? ''] ?? `activity: ${started.name}`;
        out.push({ label, from: started.time, to: time });
      }
    } else if (e.workflowTaskScheduledEventAttributes) {
      at.set(id, { time });
    } else if (e.workflowTaskStartedEventAttributes) {
      const scheduled = from(e.workflowTaskStartedEventAttributes.scheduledEventId);
      if (scheduled) {
        out.push({ label: 'temporal: workflow task dispatch', from: scheduled.time, to: time });
      }
      at.set(id, { time });
    } else if (e.workflowTaskCompletedEventAttributes) {
      const started = from(e.workflowTaskCompletedEventAttributes.startedEventId);
      if (started) {
        lastWorkflowTask = { label: 'worker: workflow code', from: started.time, to: time };
        out.push(lastWorkflowTask);
      }
    } else if (e.markerRecordedEventAttributes?.markerName === 'core_local_activity') {
      // A local activity ran inside the workflow task whose commands record it.
      if (lastWorkflowTask) lastWorkflowTask.label = localActivityLabel;
    } else if (e.startChildWorkflowExecutionInitiatedEventAttributes) {
      at.set(id, { time });
    } else if (e.childWorkflowExecutionStartedEventAttributes) {
      const initiated = from(e.childWorkflowExecutionStartedEventAttributes.initiatedEventId);
      if (initiated) out.push({ label: 'temporal: child start', from: initiated.time, to: time });
    }
  }
  return out;
}

/** Which label wins where recorded intervals overlap (the parent and its child run side by side). */
function rank(label: string): number {
  if (label.startsWith('activity:')) return 0;
  if (label.startsWith('worker:')) return 1;
  return 2;
}

/**
 * Adds the window's time to `totals`: each moment goes to one recorded interval covering it
 * (activities first, then workflow code, then dispatch waits), or to `rest` when none does, so
 * the parts add up to the window.
 */
function attribute(
  totals: Map<string, number>,
  window: [number, number],
  intervals: Interval[],
  rest: string,
) {
  const [a, b] = window;
  if (!(b > a)) return;
  const inside = intervals.filter((i) => i.to > a && i.from < b);
  const cuts = [
    ...new Set([a, b, ...inside.flatMap((i) => [i.from, i.to]).filter((t) => t > a && t < b)]),
  ].sort((x, y) => x - y);
  for (let k = 0; k + 1 < cuts.length; k++) {
    const [from, to] = [cuts[k]!, cuts[k + 1]!];
    const covering = inside
      .filter((i) => i.from <= from && i.to >= to)
      .sort((x, y) => rank(x.label) - rank(y.label))[0];
    const label = covering?.label ?? rest;
    totals.set(label, (totals.get(label) ?? 0) + (to - from));
  }
}

export interface TimeShare {
  sampled: number;
  meanTotalMs: number;
  /** Label → share of the critical path (0..1) and mean milliseconds per payment. */
  parts: { label: string; share: number; meanMs: number }[];
}

/**
 * Method: for each sampled journey, the driver's timings cut the path into create, pay, the
 * payer, the webhook, and the workflow's own work after the signal. The create request is all
 * API (with its DB writes and the start RPC); inside the pay request and after the signal, the
 * histories' intervals (parent and notification child) are attributed by kind and what is left
 * is the API (pay: HTTP, auth, DB read, update RPC) or Temporal's server round trips.
 */
export async function whereTimeGoes(client: Client, journeys: Journey[]): Promise<TimeShare> {
  const totals = new Map<string, number>();
  let total = 0;
  let sampled = 0;
  for (const j of journeys) {
    const parent = (await client.workflow.getHandle(j.payOrderId).fetchHistory()).events ?? [];
    const childId = parent.find((e) => e.startChildWorkflowExecutionInitiatedEventAttributes)
      ?.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId;
    const child = childId
      ? ((await client.workflow.getHandle(childId).fetchHistory()).events ?? [])
      : [];
    const intervals = [...historyIntervals(parent), ...historyIntervals(child)];
    const signaled = parent.find((e) => e.workflowExecutionSignaledEventAttributes);
    if (!signaled) continue;
    const signaledAt = ms(signaled);
    const add = (label: string, d: number) => totals.set(label, (totals.get(label) ?? 0) + d);
    add('API: create (HTTP, DB insert, start RPC)', j.createDone - j.createSent);
    attribute(totals, [j.paySent, j.payDone], intervals, 'API: pay (HTTP, DB read, update RPC)');
    add('driver: between requests', j.payerSent - j.payDone);
    add('channel: payer pays at the sandbox', j.channelSuccess - j.payerSent);
    add(
      'API: webhook (sandbox sends, verify, inbox DB, signal RPC)',
      signaledAt - j.channelSuccess,
    );
    attribute(
      totals,
      [signaledAt, j.merchantNotified],
      intervals,
      'temporal: server round trips (history writes, matching)',
    );
    total += j.merchantNotified - j.createSent;
    sampled += 1;
  }
  const parts = [...totals.entries()]
    .map(([label, sum]) => ({
      label,
      share: Math.round((sum / total) * 1000) / 1000,
      meanMs: Math.round((sum / sampled) * 10) / 10,
    }))
    .sort((a, b) => b.share - a.share);
  return { sampled, meanTotalMs: Math.round((total / sampled) * 10) / 10, parts };
}

/** How late each query of an open channel order started, and where the delay arose. */
export interface QueryLateness {
  /** Activity start minus the timer's due time. */
  total: number[];
  /** The parts of it: the server firing the timer (fired minus due), */
  timerFiring: number[];
  /** the workflow task that schedules the query (scheduled minus fired), */
  workflowTask: number[];
  /**
   * of which until a worker took the task that scheduled it (that task's start minus fired: also
   * any earlier task of the run, failed, timed out or busy when the timer fired),
   */
  workflowTaskWait: number[];
  /** and that task from its start to its completion, the query scheduled (the rest). */
  workflowTaskRun: number[];
  /** and the activity waiting for a worker's slot (started minus scheduled). */
  activityDispatch: number[];
}

/** Reads the query lateness of each open channel order's first query from its history. */
export async function queryLateness(client: Client, payOrderIds: string[]): Promise<QueryLateness> {
  const found: QueryLateness = {
    total: [],
    timerFiring: [],
    workflowTask: [],
    workflowTaskWait: [],
    workflowTaskRun: [],
    activityDispatch: [],
  };
  for (const id of payOrderIds) {
    const events = (await client.workflow.getHandle(id).fetchHistory()).events ?? [];
    const timers = new Map<string, number>(); // timer ID → due time
    let fired: { due: number; at: number } | undefined;
    // The newest workflow task's start: the one that schedules the query is the last before it.
    let taskStartedAt = 0;
    const queryScheduled = new Map<number, { at: number; taskStarted: number }>();
    for (const e of events) {
      const timer = e.timerStartedEventAttributes;
      if (timer) {
        const timeout = timer.startToFireTimeout;
        const dueMs = ms(e) + Number(timeout?.seconds ?? 0) * 1000 + (timeout?.nanos ?? 0) / 1e6;
        timers.set(timer.timerId ?? '', dueMs);
      } else if (e.timerFiredEventAttributes) {
        const due = timers.get(e.timerFiredEventAttributes.timerId ?? '');
        fired = due === undefined ? undefined : { due, at: ms(e) };
      } else if (e.workflowTaskStartedEventAttributes) {
        taskStartedAt = ms(e);
      } else if (
        e.activityTaskScheduledEventAttributes?.activityType?.name === 'queryChannelOrder' &&
        fired !== undefined
      ) {
        queryScheduled.set(Number(e.eventId), { at: ms(e), taskStarted: taskStartedAt });
      } else if (e.activityTaskStartedEventAttributes) {
        const scheduledId = Number(e.activityTaskStartedEventAttributes.scheduledEventId);
        const scheduled = queryScheduled.get(scheduledId);
        if (scheduled !== undefined && fired !== undefined) {
          found.total.push(ms(e) - fired.due);
          found.timerFiring.push(fired.at - fired.due);
          const task = scheduled.at - fired.at;
          const wait = Math.min(task, Math.max(0, scheduled.taskStarted - fired.at));
          found.workflowTask.push(task);
          found.workflowTaskWait.push(wait);
          found.workflowTaskRun.push(task - wait);
          found.activityDispatch.push(ms(e) - scheduled.at);
          fired = undefined;
        }
      }
    }
  }
  return found;
}
