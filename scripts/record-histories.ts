/**
 * `npm run record-histories`: runs one job of every workflow kind (and the
 * failure path) on a fresh dev server and saves each event history under
 * test/histories/, where the replay test checks that the current workflow code
 * still replays them. Run it after a deliberate, versioned workflow change;
 * `--missing` records only the histories not there yet (a new kind), keeping
 * those older code recorded, which are what proves a change replay-safe.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { queryProgress, submit, waitForJob } from '../src/client';
import { placeHold, releaseHold } from '../src/operations/holds';
import { openStore } from '../src/stores';
import { startDevServerOnFreePort } from '../src/dev-server/dev-server';
import type { Message } from '../src/kinds/registry';
import { backup } from '../src/kinds/backup/workflow';
import { etlCleanup } from '../src/kinds/etl/cleanup-workflow';
import { settingsFor } from '../src/kinds/settings';

const OUT = path.resolve(__dirname, '..', 'test', 'histories');
/** The ETL job's id, dated: histories of earlier ETL code stay beside it under their own ids, so replay keeps checking them. */
const ETL_ID = 'recorded-etl-2026-12';
const onlyMissing = process.argv.includes('--missing');

function save(file: string, history: Parameters<typeof historyToJSON>[0]): void {
  const target = path.join(OUT, `${file}.json`);
  if (onlyMissing && fs.existsSync(target)) {
    console.log(`${file}: kept the recorded history`);
    return;
  }
  fs.writeFileSync(target, historyToJSON(history));
  console.log(`${file}: ${history.events?.length} events -> test/histories/${file}.json`);
}

async function main(): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'courier-histories-'));
  const server = await startDevServerOnFreePort({
    headless: true,
    dbFile: path.join(work, 'temporal.db'),
    logFile: path.join(work, 'temporal.log'),
  });
  process.env.COURIER_TEST_TEMPORAL_ADDRESS = server.address;
  process.env.COURIER_TEST_TMP = work;
  // Loaded after the address is set, and as CommonJS like the rest, so one protobuf root serves both.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { createStack, randomFile } = require('../test/helpers/stack') as typeof import('../test/helpers/stack');
  const etlRoot = path.join(work, 'etl');
  fs.mkdirSync(etlRoot, { recursive: true });
  fs.writeFileSync(
    path.join(etlRoot, 'pipelines.json'),
    JSON.stringify({
      locations: { local: { kind: 'sqlite', path: 'etl.sqlite' } },
      pipelines: {
        recorded: {
          columns: [{ name: 'id', type: 'integer' }, { name: 'name' }],
          key: ['id'],
          table: 'recorded',
          batchSize: 2,
          locations: ['local'],
        },
      },
    }),
  );
  const etlSource = path.join(work, 'recorded.csv');
  fs.writeFileSync(etlSource, 'id,name\n1,one\n2,two\n3,three\n');
  const stack = await createStack({
    COURIER_PART_SIZE: '1MiB',
    COURIER_CONCURRENCY: '2',
    COURIER_DELIVERY_ROOT: path.join(work, 'host-root'),
    COURIER_PUSH_COMMANDS: JSON.stringify({ true: 'true' }),
    COURIER_ETL_ROOT: etlRoot,
  });
  try {
    await stack.startWorker();
    await stack.startHandlerWorkers(['archive']);
    const source = await randomFile(work, 'source.bin', 2 * 1024 * 1024 + 4321);
    const jobs: [string, Message, boolean][] = [
      ['backup', { kind: 'backup', name: 'recorded', source }, true],
      ['restore', { kind: 'restore', name: 'recorded', dest: path.join(work, 'restored.bin') }, true],
      ['verify', { kind: 'verify', name: 'recorded' }, true],
      ['backup-failed', { kind: 'backup', name: 'recorded-missing', source: path.join(work, 'no-such-file') }, false],
      // Snapshots over the chunk repository, and the repository's upkeep.
      ['backup-chunks', { kind: 'backup', name: 'recorded-chunks', source }, true],
      ['restore-chunks', { kind: 'restore', name: 'recorded-chunks', dest: path.join(work, 'restored-chunks.bin') }, true],
      ['forget', { kind: 'forget', name: 'recorded-chunks', keepLast: 1 }, true],
      ['prune', { kind: 'prune' }, true],
      ['check', { kind: 'check', readDataSubset: '100%' }, true],
      [
        'dispatch',
        {
          kind: 'dispatch',
          name: 'manual',
          version: '1.0',
          buildType: null,
          format: 'archive',
          project: 'recorded',
          origin: 'record-histories',
          payload: { files: [source] },
        },
        true,
      ],
      [
        'push',
        {
          kind: 'push',
          name: 'recorded-push',
          file: source,
          dest: '/srv/recorded.bin',
          mode: '0640',
          postCommand: 'true',
          hosts: [stack.config.host],
        },
        true,
      ],
      // Named by its job id: the replay runs it under the file's name, and the ids of the jobs it starts derive from it.
      [ETL_ID, { kind: 'etl', id: ETL_ID, pipeline: 'recorded', source: etlSource }, true],
    ];
    fs.mkdirSync(OUT, { recursive: true });
    for (const [file, message, succeeds] of jobs) {
      const { jobId } = await submit(stack.client, stack.config, message);
      const outcome = await waitForJob(stack.client, jobId).then(
        () => true,
        () => false,
      );
      if (outcome !== succeeds) throw new Error(`${file}: expected the job to ${succeeds ? 'complete' : 'fail'}`);
      save(file, await stack.client.workflow.getHandle(jobId).fetchHistory());
    }
    // A job started as any Temporal client would: the message alone, admitted by the worker.
    const bare = await stack.client.workflow.start(backup, {
      workflowId: 'backup-admitted',
      taskQueue: stack.config.taskQueue,
      args: [{ name: 'recorded-admitted', source }],
    });
    await bare.result();
    save('backup-admitted', await bare.fetchHistory());
    // A backup started under an operator's hold: it looks the hold up, waits, and goes on once released.
    const holds = { client: stack.client, config: stack.config, store: openStore(stack.config) };
    await placeHold(holds, { scope: 'kind', name: 'backup' });
    const held = await submit(stack.client, stack.config, { kind: 'backup', name: 'recorded-held', source, id: 'backup-held' });
    for (let waited = 0; !(await queryProgress(stack.client, held.jobId))?.holds?.length; waited += 100) {
      if (waited > 30_000) throw new Error('backup-held: the job never showed its hold');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await releaseHold(holds, { scope: 'kind', name: 'backup' });
    await waitForJob(stack.client, held.jobId);
    save('backup-held', await stack.client.workflow.getHandle(held.jobId).fetchHistory());
    // The jobs the ETL job started, by their derived ids, and one cleanup run.
    const { createHash } = await import('node:crypto');
    const transformId = `${ETL_ID}-T-${createHash('sha256').update(fs.readFileSync(etlSource)).digest('hex').slice(0, 12)}`;
    const cleanup = await stack.client.workflow.start(etlCleanup, {
      workflowId: 'recorded-cleanup',
      taskQueue: stack.config.taskQueue,
      args: [{ olderThanMs: 86_400_000, settings: settingsFor(stack.config) }],
    });
    await cleanup.result();
    for (const [file, id] of [
      [transformId, transformId],
      [`${transformId}-L1`, `${transformId}-L1`],
      ['recorded-cleanup', 'recorded-cleanup'],
    ]) {
      save(file, await stack.client.workflow.getHandle(id).fetchHistory());
    }
  } finally {
    await stack.close();
    await server.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    console.error(`recording histories failed: ${err.message}`);
    process.exit(1);
  },
);
