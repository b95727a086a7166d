import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import * as workflows from '../src/workflows';
import { workflowBundle } from './helpers/stack';

const DIR = path.join(__dirname, 'histories');

/** The workflow type a recorded history started. */
function workflowType(history: ReturnType<typeof historyFromJSON>): string | undefined {
  return history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name ?? undefined;
}

describe('replaying recorded histories against the current workflow code (npm run record-histories refreshes them)', () => {
  const files = fs
    .readdirSync(DIR)
    .filter((f) => f.endsWith('.json'))
    .sort();
  const histories = files.map((file) => ({ file, history: historyFromJSON(JSON.parse(fs.readFileSync(path.join(DIR, file), 'utf8'))) }));

  it('has a recorded history for every workflow kind', () => {
    const recorded = new Set(histories.map(({ history }) => workflowType(history)));
    for (const kind of Object.keys(workflows))
      assert.ok(recorded.has(kind), `no history of a ${kind} workflow in test/histories; run npm run record-histories`);
  });

  it('replays every history without a nondeterminism error', async () => {
    const results = Worker.runReplayHistories(
      { workflowBundle: await workflowBundle(), replayName: 'courier-replay' },
      // The file's name is the workflow id the history ran under (children's ids derive from it).
      histories.map(({ file, history }) => ({ workflowId: file.replace(/\.json$/, ''), history })),
    );
    let replayed = 0;
    for await (const result of results) {
      assert.equal(result.error, undefined, `${result.workflowId}: ${result.error?.message}`);
      replayed++;
    }
    assert.equal(replayed, files.length);
  });
});
