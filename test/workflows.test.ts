/**
 * Workflow logic with mocked activities: what a job does when its bookkeeping
 * fails or no worker takes its work. A real store adds nothing here, so these
 * run in seconds; the end-to-end files cover the same jobs with real parts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { StatusDocument } from '../src/jobs/status';
import type { JobSettings } from '../src/jobs/settings';
import { statusLogQuery, progressQuery } from '../src/kinds/definitions';
import { dispatch } from '../src/kinds/dispatch/workflow';
import { verify } from '../src/kinds/verify/workflow';
import { temporalAddress, workflowBundle } from './helpers/stack';

const settings = (overrides: Partial<JobSettings> = {}): JobSettings => ({
  partSize: 1024,
  concurrency: 2,
  checksums: 'sha256',
  heartbeatTimeoutMs: 5000,
  notify: { webhookOn: [], email: [], emailOn: [], webhook: { attempts: 1, retryIntervalMs: 100, timeoutMs: 1000 } },
  ledger: false,
  layout: 'parts',
  ...overrides,
});

describe('workflows with mocked activities', () => {
  let env: TestWorkflowEnvironment;
  let counter = 0;
  const taskQueue = () => `workflows-test-${process.pid}-${++counter}`;

  before(async () => {
    env = await TestWorkflowEnvironment.createFromExistingServer({ address: temporalAddress(), namespace: 'default' });
  });
  after(() => env?.teardown());

  /** Runs one workflow on a worker of its own with these activities, and hands back its handle once it ended. */
  async function run<T>(queue: string, activities: object, start: () => Promise<T>): Promise<T> {
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue: queue, workflowBundle: await workflowBundle(), activities });
    return worker.runUntil(start());
  }

  const noBookkeeping = { reportStatus: async () => undefined, recordStatus: async () => undefined };

  it('a status ledger that refuses never fails the job; its progress names the ledger', async () => {
    const queue = taskQueue();
    const result = await run(
      queue,
      {
        ...noBookkeeping,
        recordStatus: async () => {
          throw ApplicationFailure.nonRetryable('connection refused by the ledger', 'NotConfigured');
        },
        verifyStoredBackup: async () => ({ partCount: 3, size: 10, bad: [] }),
      },
      async () => {
        const handle = await env.client.workflow.start(verify, {
          taskQueue: queue,
          workflowId: `ledger-down-${queue}`,
          args: [{ message: { kind: 'verify', id: `ledger-down-${queue}`, name: 'b' }, settings: settings({ ledger: true }) }],
        });
        const result = await handle.result();
        return { result, progress: await handle.query(progressQuery), log: await handle.query(statusLogQuery) };
      },
    );
    assert.equal(result.result.kind, 'verify');
    assert.match(result.progress.lastError ?? '', /status ledger: connection refused by the ledger/);
    assert.deepEqual(
      result.log.map((e) => e.status),
      ['running', 'completed'],
    );
  });

  it('a callback that keeps failing is noted in the status log after its attempts, and the job still completes', async () => {
    const queue = taskQueue();
    let calls = 0;
    const { log } = await run(
      queue,
      {
        ...noBookkeeping,
        sendWebhook: async () => {
          calls++;
          throw new Error('503 from the receiver');
        },
        verifyStoredBackup: async () => ({ partCount: 1, size: 1, bad: [] }),
      },
      async () => {
        const plan = {
          callbackUrl: 'http://127.0.0.1:9/hook',
          webhookOn: ['completed' as const],
          email: [],
          emailOn: [],
          webhook: { attempts: 3, retryIntervalMs: 100, timeoutMs: 1000 },
        };
        const handle = await env.client.workflow.start(verify, {
          taskQueue: queue,
          workflowId: `callback-down-${queue}`,
          args: [{ message: { kind: 'verify', id: `callback-down-${queue}`, name: 'b' }, settings: settings({ notify: plan }) }],
        });
        await handle.result();
        return { log: await handle.query(statusLogQuery) };
      },
    );
    assert.equal(calls, 3, 'tried as often as the plan says');
    assert.ok(
      log.some((e) => /callback http:\/\/127\.0\.0\.1:9\/hook for completed failed after 3 attempts: 503 from the receiver/.test(e.note ?? '')),
    );
  });

  it('a dispatch nobody takes waits for a worker, escalates once, runs the spawn hook after its checks, and fails at its deadline naming the format', async () => {
    const queue = taskQueue();
    const mails: StatusDocument[] = [];
    const hooks: unknown[] = [];
    const failure = await run(
      queue,
      {
        ...noBookkeeping,
        sendEmail: async (input: { document: StatusDocument }) => void mails.push(input.document),
        runSpawnHook: async (input: unknown) => {
          hooks.push(input);
          return 'spawned';
        },
      },
      async () => {
        const id = `no-worker-${queue}`;
        const handle = await env.client.workflow.start(dispatch, {
          taskQueue: queue,
          workflowId: id,
          args: [
            {
              message: { kind: 'dispatch', id, name: 'manual', version: '1', buildType: null, format: 'pdf', project: 'p', origin: 'test' },
              settings: settings({ notify: { ...settings().notify, email: ['ops@test.example'], emailOn: ['escalated', 'failed'] } }),
              dispatch: { topic: 'pdf', taskQueue: `${queue}.nobody`, checkIntervalMs: 1000, maxChecks: 2, deadlineMs: 3500, workTimeoutMs: 10_000 },
            },
          ],
        });
        const error = await handle.result().then(
          () => undefined,
          (err: Error & { cause?: Error }) => err,
        );
        return { error, log: await handle.query(statusLogQuery) };
      },
    );
    assert.match(
      failure.error?.cause?.message ?? '',
      /no worker handled format pdf \(topic pdf, task queue .*\.nobody\) within 4 s after [34] checks/,
    );
    assert.deepEqual(
      mails.map((m) => m.event),
      ['escalated', 'failed'],
      'one escalation, then the failure',
    );
    assert.equal(hooks.length, 1, 'the spawn hook ran once, at the configured check');
    assert.ok(failure.log.filter((e) => e.status === 'waiting-for-worker').length >= 2);
    assert.ok(failure.log.some((e) => /spawn hook ran for topic pdf: spawned/.test(e.note ?? '')));
  });
});
