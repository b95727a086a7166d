import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { submit, waitForJob } from '../src/client';
import type { BackupResult } from '../src/kinds/backup/contract';
import { PARTS_PER_RUN } from '../src/workflows/part-pool';
import { createStack, randomFile, sha256File, type Stack } from './helpers/stack';

describe('a backup of thousands of parts', () => {
  let stack: Stack;
  let dir: string;

  before(async () => {
    stack = await createStack({ COURIER_PART_SIZE: '256', COURIER_CONCURRENCY: '16' });
    dir = await fs.mkdtemp(path.join(stack.config.dataDir, '..', 'files-'));
    await stack.startWorker();
  });
  after(() => stack.close());

  async function runs(jobId: string) {
    const found = [];
    for await (const run of stack.client.workflow.list({ query: `WorkflowId = "${jobId}"` })) {
      const described = await stack.client.workflow.getHandle(jobId, run.runId).describe();
      found.push({ status: run.status.name, historyLength: described.historyLength });
    }
    return found;
  }

  it('continues as new to keep each run far below the history limits, and restores identically', async () => {
    // One continue-as-new proves the hand-over; more prove little more and cost a minute each.
    const partCount = PARTS_PER_RUN + 100;
    const source = await randomFile(dir, 'many', partCount * 256 - 55);
    const { jobId } = await submit(stack.client, stack.config, { kind: 'backup', name: 'many', source });
    const result = (await waitForJob(stack.client, jobId)) as BackupResult;
    assert.equal(result.partCount, partCount);

    const backupRuns = await runs(jobId);
    assert.equal(backupRuns.length, 2, 'one run per thousand parts');
    assert.deepEqual(backupRuns.map((r) => r.status).sort(), ['COMPLETED', 'CONTINUED_AS_NEW']);
    for (const run of backupRuns) assert.ok(run.historyLength < 10_240, `history of ${run.historyLength} events`);

    const dest = path.join(dir, 'many.restored');
    const restore = await submit(stack.client, stack.config, { kind: 'restore', name: 'many', dest });
    await waitForJob(stack.client, restore.jobId);
    assert.equal(await sha256File(dest), await sha256File(source));
    assert.equal((await runs(restore.jobId)).length, 2);
  });
});
