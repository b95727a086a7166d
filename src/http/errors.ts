import type { FastifyReply } from 'fastify';
import { JobNotFoundError } from '../client';
import { ConfigError } from '../config';
import { MessageError, type FieldIssue } from '../jobs/message-error';
import { JobStateError } from '../operations/retry-job';
import { HoldNotFoundError } from '../operations/holds';

export interface ErrorBody {
  error: string;
  message: string;
  fields?: string[];
  /** Each bad field with what is wrong with it. */
  issues?: FieldIssue[];
}

export function sendError(reply: FastifyReply, status: number, error: string, message: string, extra: Partial<ErrorBody> = {}) {
  return reply.code(status).send({ error, message, ...extra } satisfies ErrorBody);
}

/** Maps courier's errors onto HTTP: bad input 400 with the fields, unknown job 404, wrong state 409, Temporal down 503. */
export function sendFailure(reply: FastifyReply, err: unknown) {
  if (err instanceof MessageError) return sendError(reply, 400, 'BadRequest', err.message, { fields: err.fields, issues: err.issues });
  if (err instanceof HoldNotFoundError) return sendError(reply, 404, 'NotFound', err.message);
  if (err instanceof ConfigError) return sendError(reply, 400, 'BadRequest', err.message);
  if (err instanceof JobNotFoundError) return sendError(reply, 404, 'NotFound', err.message);
  if (err instanceof JobStateError) return sendError(reply, 409, 'Conflict', err.message);
  const text = (err as Error)?.message ?? String(err);
  if (/cannot reach the Temporal server|UNAVAILABLE|deadline/i.test(text)) return sendError(reply, 503, 'Unavailable', text);
  reply.log.error({ err }, 'request failed');
  return sendError(reply, 500, 'InternalError', text);
}
