import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { submit, waitForJob } from '../src/client';
import type { BackupResult } from '../src/kinds/backup/contract';
import { PARTS_PER_RUN } from '../src/workflows/part-pool';
import { createStack, randomFile, sha256File, type Stack } from './helpers/stack';

/** Runs of 40 parts prove the hand-over as 1,000 would, in a tenth of the time; the history per part is what bounds the default. */
const PER_RUN = 40;

describe('a backup of many parts', () => {
  let stack: Stack;
  let dir: string;

  before(async () => {
    stack = await createStack({ COURIER_PART_SIZE: '256', COURIER_CONCURRENCY: '16', COURIER_PARTS_PER_RUN: String(PER_RUN) });
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
    const partCount = 2 * PER_RUN + 10;
    const source = await randomFile(dir, 'many', partCount * 256 - 55);
    const { jobId } = await submit(stack.client, stack.config, { kind: 'backup', name: 'many', source });
    const result = (await waitForJob(stack.client, jobId)) as BackupResult;
    assert.equal(result.partCount, partCount);

    const backupRuns = await runs(jobId);
    assert.equal(backupRuns.length, 3, `one run per ${PER_RUN} parts`);
    assert.deepEqual(backupRuns.map((r) => r.status).sort(), ['COMPLETED', 'CONTINUED_AS_NEW', 'CONTINUED_AS_NEW']);
    // A full run's history, fixed costs and all, scaled to the default: it must stay far below Temporal's 10,240-event warning.
    for (const run of backupRuns.filter((r) => r.status === 'CONTINUED_AS_NEW')) {
      const atDefault = (run.historyLength / PER_RUN) * PARTS_PER_RUN;
      assert.ok(atDefault < 8_000, `history of ${run.historyLength} events for ${PER_RUN} parts: ${atDefault.toFixed(0)} at ${PARTS_PER_RUN}`);
    }

    const dest = path.join(dir, 'many.restored');
    const restore = await submit(stack.client, stack.config, { kind: 'restore', name: 'many', dest });
    await waitForJob(stack.client, restore.jobId);
    assert.equal(await sha256File(dest), await sha256File(source));
    const restoreRuns = await runs(restore.jobId);
    assert.equal(restoreRuns.length, 3);
    for (const run of restoreRuns.filter((r) => r.status === 'CONTINUED_AS_NEW'))
      assert.ok((run.historyLength / PER_RUN) * PARTS_PER_RUN < 8_000, `restore history of ${run.historyLength} events`);
  });
});
