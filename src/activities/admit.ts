import { MessageError } from '../jobs/message-error';
import { withHoldsInPlace } from '../operations/holds';
import type { ActivityDeps } from './deps';
import { permanent } from './failures';

export interface AdmitRequest {
  /** The workflow type's kind: a message that names none is of this kind. */
  kind: string;
  message: unknown;
  /** The workflow id, which is the job id. */
  jobId: string;
}

/**
 * Validates a message that arrived without courier's client and gives it the
 * settings this worker's configuration resolves, exactly as submission does.
 */
export async function admitMessage(deps: ActivityDeps, request: AdmitRequest): Promise<unknown> {
  const kind = deps.kinds.find((k) => k.name === request.kind);
  if (!kind)
    throw permanent('BadMessage', `workflow type ${request.kind} takes no message; courier's kinds are ${deps.kinds.map((k) => k.name).join(', ')}`);
  const given = request.message;
  if (typeof given !== 'object' || given === null || Array.isArray(given)) {
    throw permanent(
      'BadMessage',
      `job ${request.jobId}: the input of a ${kind.name} workflow is a JSON object (its message), not ${JSON.stringify(given)}`,
    );
  }
  const asked = (given as { id?: unknown }).id;
  try {
    // The workflow id is the job id: a message id that differs would name a job that does not exist.
    if (asked !== undefined && asked !== request.jobId) {
      throw new MessageError(
        `id: "${String(asked)}" differs from the workflow id "${request.jobId}"; leave id out or start the workflow with that id`,
        ['id'],
      );
    }
    const message = kind.parse({ kind: kind.name, ...given, id: request.jobId });
    return await withHoldsInPlace(deps.config, deps.store, kind.input(deps.config, { ...message, id: request.jobId }));
  } catch (err) {
    if (err instanceof MessageError) throw permanent('BadMessage', `${kind.name} job ${request.jobId}: ${err.message}`);
    throw err;
  }
}
