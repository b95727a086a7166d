import { proxyActivities, setHandler } from '@temporalio/workflow';
import type { Activities, HandlerActivities } from '../../activities';
import type { DispatchInput, DispatchProgress, DispatchResult } from './contract';
import type { DispatchMessage } from './message';
import { admit, type Submitted } from '../../workflows/admit';
import { NON_RETRYABLE, quickStep } from '../../workflows/activity-options';
import { handlerStartedSignal } from './definitions';
import { notPickedUp } from '../../workflows/host-pin';
import { rootCause, trackJob } from '../../workflows/job-tracker';

/**
 * A producer's message (seed 003): its work goes to the task queue of its
 * topic. The catch-all checker lives here: when no worker takes the work within
 * the check interval, the job waits for a worker, notifies once, runs the spawn
 * hook after the configured number of checks, and fails at the deadline saying
 * that no worker handles the format.
 */
export async function dispatch(started: DispatchInput | Submitted<DispatchMessage>): Promise<DispatchResult> {
  const input = await admit<DispatchInput>('dispatch', started);
  const { message, settings, dispatch: route } = input;
  const job = trackJob<DispatchProgress>({
    kind: 'dispatch',
    subject: `${message.name} ${message.version} (${message.format})`,
    project: message.project,
    settings,
    carried: input.tracker,
    counts: { topic: route.topic, checks: 0, done: false },
    target: { topic: route.topic },
  });
  const { progress } = job;
  const control = proxyActivities<Activities>({ ...quickStep(settings), retry: { maximumAttempts: 2, nonRetryableErrorTypes: NON_RETRYABLE } });

  let checks = 0;
  let worker = '';
  setHandler(handlerStartedSignal, (taken) => {
    worker = taken.worker;
    progress.worker = taken.worker;
    const waited = checks > 0 ? ` after ${checks} check${checks === 1 ? '' : 's'} without a worker` : '';
    job.set('running', `worker ${taken.worker} took the work${waited}${taken.attempt > 1 ? ` (attempt ${taken.attempt})` : ''}`);
  });

  const deadline = Date.now() + route.deadlineMs;
  try {
    progress.enter('prepare');
    for (;;) {
      await job.untilResumed();
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        throw new Error(
          `no worker handled format ${message.format} (topic ${route.topic}, task queue ${route.taskQueue}) within ${Math.round(route.deadlineMs / 1000)} s after ${checks} checks; ` +
            `start one with \`${route.host ? `COURIER_HOST=${route.host} ` : ''}courier worker --handles ${route.topic}\`${route.host ? ` on host ${route.host}` : ''}`,
        );
      }
      const { runHandler } = proxyActivities<HandlerActivities>({
        taskQueue: route.taskQueue,
        // The catch-all check: a worker must take the work within the interval.
        scheduleToStartTimeout: Math.min(route.checkIntervalMs, remaining),
        startToCloseTimeout: route.workTimeoutMs,
        heartbeatTimeout: settings.heartbeatTimeoutMs,
        retry: { initialInterval: '1 second', maximumInterval: '1 minute', maximumAttempts: 5, nonRetryableErrorTypes: NON_RETRYABLE },
      });
      try {
        progress.enter('upload');
        const output = await runHandler({ message, topic: route.topic });
        const result: DispatchResult = {
          kind: 'dispatch',
          jobId: message.id,
          format: message.format,
          topic: route.topic,
          worker,
          checks,
          output,
          completedAt: new Date().toISOString(),
        };
        progress.done = true;
        await job.complete({ ...result });
        return result;
      } catch (err) {
        if (!notPickedUp(err)) throw err;
      }
      checks++;
      progress.checks = checks;
      job.set('waiting-for-worker', `check ${checks}: no worker took topic ${route.topic} within ${Math.round(route.checkIntervalMs / 1000)} s`);
      if (checks === 1) await job.notify('escalated', { cause: `no worker for format ${message.format} (topic ${route.topic}) yet` });
      if (checks === route.maxChecks) {
        try {
          const output = await control.runSpawnHook({
            jobId: message.id,
            topic: route.topic,
            format: message.format,
            project: message.project,
            taskQueue: route.taskQueue,
          });
          job.note(`spawn hook ran for topic ${route.topic}${output ? `: ${output}` : ''}`);
        } catch (err) {
          job.note(`spawn hook failed: ${rootCause(err).message}`);
        }
      }
    }
  } catch (err) {
    return job.fail(err);
  }
}
