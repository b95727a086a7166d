import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';

const EventType = temporal.api.enums.v1.EventType;

const millis = (t: temporal.api.history.v1.IHistoryEvent['eventTime']) => Number(t?.seconds ?? 0) * 1000 + Math.floor((t?.nanos ?? 0) / 1e6);

/**
 * Where a job's time went, from the histories of it and the workflows named:
 * each activity's schedule-to-close span, relative to `since`, one line per
 * workflow. For finding the slow step, not for the ratios.
 */
export async function printTimeline(client: Client, workflowIds: string[], since: number): Promise<void> {
  for (const id of workflowIds) {
    const history = await client.workflow.getHandle(id).fetchHistory();
    const events = history.events ?? [];
    const scheduled = new Map<number, { type: string; at: number }>();
    const spans: string[] = [];
    for (const e of events) {
      if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
        scheduled.set(Number(e.eventId), { type: e.activityTaskScheduledEventAttributes?.activityType?.name ?? '?', at: millis(e.eventTime) });
      const done = e.activityTaskCompletedEventAttributes ?? e.activityTaskFailedEventAttributes;
      if (done) {
        const start = scheduled.get(Number(done.scheduledEventId));
        if (start) spans.push(`${start.type} ${((start.at - since) / 1000).toFixed(2)}+${((millis(e.eventTime) - start.at) / 1000).toFixed(2)}`);
      }
    }
    const first = millis(events[0]?.eventTime);
    const last = millis(events.at(-1)?.eventTime);
    console.log(
      `  ${id}: ${((first - since) / 1000).toFixed(2)}..${((last - since) / 1000).toFixed(2)} s, ${events.length} events: ${spans.join(', ')}`,
    );
  }
}
