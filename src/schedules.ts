// The Temporal Schedules paycenter keeps: the daily reconciliation of each channel's statement and
// the safety-net scans. Created at worker start, updated to the configuration when they exist.
import {
  ScheduleAlreadyRunning,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleOptions,
} from '@temporalio/client';
import type { Config } from './config';
import {
  dailyReconciliationWorkflow,
  dailyReconciliationWorkflowId,
  type DailyReconciliationInput,
} from './workflows/contracts/dailyReconciliation';
import {
  safetyNetScanWorkflow,
  safetyNetScanWorkflowId,
  type SafetyNetInput,
} from './workflows/contracts/safetyNetScan';

/** Schedule IDs carry the task queue, so deployments (and test systems) sharing a namespace differ. */
export function scheduleIds(config: Config) {
  return {
    reconciliation: `reconcile-daily:${config.TEMPORAL_TASK_QUEUE}`,
    safetyNet: `safety-net:${config.TEMPORAL_TASK_QUEUE}`,
  };
}

/** The channels the daily run reconciles: RECONCILE_CHANNELS, else every configured channel. */
export function reconciledChannels(config: Config, configured: readonly string[]): string[] {
  return config.RECONCILE_CHANNELS
    ? config.RECONCILE_CHANNELS.split(',').map((name) => name.trim())
    : [...configured];
}

export function safetyNetInput(config: Config): SafetyNetInput {
  const retries = config.MERCHANT_NOTIFY_RETRY_SECONDS.reduce((sum, s) => sum + s, 0);
  return {
    graceSeconds: config.SAFETY_NET_GRACE_SECONDS,
    moneyLookbackSeconds: config.SAFETY_NET_MONEY_LOOKBACK_SECONDS,
    refundFinalWithinSeconds: config.REFUND_FINAL_WITHIN_SECONDS,
    merchantNotifyGiveUpSeconds: retries + config.SAFETY_NET_GRACE_SECONDS,
  };
}

export async function ensureSchedules(
  client: Client,
  config: Config,
  channels: readonly string[],
): Promise<void> {
  const ids = scheduleIds(config);
  const [hour, minute] = config.RECONCILE_CUTOFF.split(':').map(Number);
  const daily: DailyReconciliationInput = {
    channels: reconciledChannels(config, channels),
    timeZone: config.RECONCILE_TIME_ZONE,
  };
  await upsertSchedule(client, {
    scheduleId: ids.reconciliation,
    spec: { calendars: [{ hour: hour!, minute: minute! }], timezone: config.RECONCILE_TIME_ZONE },
    action: {
      type: 'startWorkflow',
      workflowType: dailyReconciliationWorkflow.type,
      workflowId: dailyReconciliationWorkflowId(config.TEMPORAL_TASK_QUEUE),
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      args: [daily],
    },
    // A worker down over the cut-off still reconciles when it comes back the same day.
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day' },
  });
  await upsertSchedule(client, {
    scheduleId: ids.safetyNet,
    spec: { intervals: [{ every: `${config.SAFETY_NET_INTERVAL_SECONDS}s` }] },
    action: {
      type: 'startWorkflow',
      workflowType: safetyNetScanWorkflow.type,
      workflowId: safetyNetScanWorkflowId(config.TEMPORAL_TASK_QUEUE),
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      args: [safetyNetInput(config)],
    },
    policies: { overlap: ScheduleOverlapPolicy.SKIP },
  });
}

async function upsertSchedule(client: Client, options: ScheduleOptions): Promise<void> {
  try {
    await client.schedule.create(options);
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await client.schedule.getHandle(options.scheduleId).update((current) => ({
      ...current,
      spec: options.spec,
      action: options.action,
      policies: { ...current.policies, ...options.policies },
    }));
  }
}
