// A pay order's story as its workflow history tells it (what an operator reads in the Temporal UI).
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
