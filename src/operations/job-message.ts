import type { Client } from '@temporalio/client';
import { decodeArrayFromPayloads } from '@temporalio/common/lib/internal-non-workflow';

/**
 * The message a job was started with, from the first event of its current
 * run (decoded through the client's codec): courier's client passes
 * `{ message, settings }`, any other client the message alone. Undefined when
 * that event carries no input.
 */
export async function startMessageOf(client: Client, jobId: string): Promise<unknown> {
  const { history } = await client.workflowService.getWorkflowExecutionHistory({
    namespace: client.options.namespace,
    execution: { workflowId: jobId },
    maximumPageSize: 1,
  });
  const payloads = history?.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads;
  if (!payloads?.length) return undefined;
  const [input] = await decodeArrayFromPayloads(client.options.loadedDataConverter, payloads);
  return typeof input === 'object' && input !== null && 'message' in input ? (input as { message: unknown }).message : input;
}
