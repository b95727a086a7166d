/**
 * The worker's boundary around every step: a step asked to stop reports a
 * cancellation, whatever error stopping made, so its job ends cancelled.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ActivityCancellationDetails, CancelledFailure } from '@temporalio/common';
import { Context } from '@temporalio/activity';
import { MockActivityEnvironment } from '@temporalio/testing';
import { bindAll } from '../src/activities/bind';
import type { ActivityDeps } from '../src/activities/deps';

/** A step that waits to be stopped, then fails the way a store call cut short does. */
async function failsWhenStopped(_deps: ActivityDeps): Promise<string> {
  const { cancellationSignal } = Context.current();
  await new Promise((resolve) => cancellationSignal.addEventListener('abort', resolve, { once: true }));
  throw new Error('socket closed before the part was stored');
}

async function failsAtOnce(_deps: ActivityDeps): Promise<string> {
  throw new Error('store unreachable');
}

const steps = bindAll({} as ActivityDeps, { failsWhenStopped, failsAtOnce });

describe('steps asked to stop', () => {
  it('report a cancellation instead of the error stopping made', async () => {
    const env = new MockActivityEnvironment();
    const running = env.run(steps.failsWhenStopped);
    setTimeout(() => env.cancel(), 20);
    await assert.rejects(running, (err: unknown) => err instanceof CancelledFailure);
  });

  it('keep their error when they stop for another reason than the job asking', async () => {
    const env = new MockActivityEnvironment();
    const running = env.run(steps.failsWhenStopped);
    setTimeout(() => env.cancel('WORKER_SHUTDOWN', new ActivityCancellationDetails({ workerShutdown: true })), 20);
    await assert.rejects(running, /socket closed before the part was stored/);
  });

  it('keep their error when nobody asked them to stop', async () => {
    await assert.rejects(new MockActivityEnvironment().run(steps.failsAtOnce), /store unreachable/);
  });
});
