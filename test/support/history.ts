// A pay order's story as its workflow history tells it (what an operator reads in the Temporal UI).
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';

/** The results of the completed activities of one type, in the order they completed. */
export async function activityResults(
  client: Client,
  workflowId: string,
  activityType: string,
): Promise<unknown[]> {
  const events = (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  const scheduled = new Set(
    events
      .filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === activityType)
      .map((e) => String(e.eventId)),
  );
  return events.flatMap((e) => {
    const completed = e.activityTaskCompletedEventAttributes;
    if (!completed || !scheduled.has(String(completed.scheduledEventId))) return [];
    const payload = completed.result?.payloads?.[0];
    return [payload ? defaultPayloadConverter.fromPayload(payload) : undefined];
  });
}

/**
 * `RECORD_HISTORIES=1 npm test -- <workflow test file>` records missing replay fixtures into
 * test/replay/histories. Existing ones are never overwritten: they stand for workflows already
 * running.
 */
export function recordMissingHistories(recorded: Record<string, string>): void {
  if (process.env.RECORD_HISTORIES !== '1') return;
  for (const [name, history] of Object.entries(recorded)) {
    const file = path.join(__dirname, '../replay/histories', `${name}.json`);
    if (!existsSync(file)) writeFileSync(file, history);
  }
}
