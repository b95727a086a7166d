import { Context, log } from '@temporalio/activity';
import type { DispatchInput, HandlerOutput } from '../contract';
import { handlerStartedSignal } from '../definitions';
import type { ActivityDeps } from '../../../activities/deps';
import { permanent } from '../../../activities/failures';
import { reportsOwnProgress } from '../../../activities/heartbeat';
import { hostIdOf } from '../../../security/host-tags';

/**
 * The work of a dispatch job, run by a worker that polls the message's topic
 * queue. It first tells the job which worker took it, so the status says so.
 */
export async function runHandler(deps: ActivityDeps, input: Pick<DispatchInput, 'message'> & { topic: string }): Promise<HandlerOutput> {
  const { message } = input;
  const context = Context.current();
  // A handler that stops heartbeating has hung: the timeout is how its job hears of it.
  reportsOwnProgress();
  const handler = deps.handlers.handlerFor(message.format);
  if (!handler) {
    throw permanent(
      'NotConfigured',
      `the worker polling topic ${input.topic} (${workerIdentity(deps)}) has no handler for format ${message.format}; register one or route the format elsewhere`,
    );
  }
  await context.client.workflow
    .getHandle(message.id)
    .signal(handlerStartedSignal, { worker: workerIdentity(deps), attempt: context.info.attempt })
    .catch((err: Error) => log.warn('could not tell the job which worker took it', { error: err.message }));
  return handler(message, {
    jobId: message.id,
    config: deps.config,
    store: deps.store,
    heartbeat: (details) => context.heartbeat(details),
    signal: context.cancellationSignal,
  });
}

/** The identity the worker polls with: pid@host. */
const workerIdentity = (deps: ActivityDeps) => `${process.pid}@${hostIdOf(deps.config)}`;
