import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client as PgClient } from 'pg';
import { JobFailedError, pauseJob, queryProgress, resumeJob, statusLogOf, submit, waitForJob } from '../src/client';
import type { StatusEntry } from '../src/jobs/status';
import { retryJob } from '../src/operations/retry-job';
import { createStack, randomFile, transferProgress, waitUntil, slowSegments, type Stack } from './helpers/stack';

const LEDGER_URL = process.env.COURIER_TEST_LEDGER_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

describe('the PostgreSQL status ledger', () => {
  let stack: Stack;
  let pg: PgClient;
  let dir: string;

  before(async () => {
    pg = new PgClient({ connectionString: LEDGER_URL });
    await pg.connect();
    stack = await createStack({ COURIER_LEDGER_URL: LEDGER_URL, COURIER_PART_SIZE: '64KiB', COURIER_CONCURRENCY: '1' });
    await stack.startWorker(slowSegments(200));
    dir = await fs.mkdtemp(path.join(stack.config.dataDir, '..', 'ledger-'));
  });
  after(async () => {
    await stack.close();
    await pg.end();
  });

  async function rows(jobId: string): Promise<StatusEntry[]> {
    const result = await pg.query<{ status: StatusEntry['status']; note: string | null; at: Date }>(
      'SELECT status, note, at FROM courier_status_log WHERE job_id = $1 ORDER BY at, seq',
      [jobId],
    );
    return result.rows.map((row) => ({ status: row.status, at: row.at.toISOString(), ...(row.note ? { note: row.note } : {}) }));
  }

  it('every status transition of a job is a row, in the order and with the times of its status log', async () => {
    const source = await randomFile(dir, 'ledgered', 8 * 64 * 1024);
    const { jobId } = await submit(stack.client, stack.config, { kind: 'backup', name: 'ledgered', source, project: 'ccap' });
    await waitUntil('uploads to begin', async () => ((await transferProgress(stack.client, jobId))?.partsDone ?? 0) >= 1);
    await pauseJob(stack.client, jobId);
    await waitUntil('paused', async () => (await queryProgress(stack.client, jobId))?.status === 'paused');
    await resumeJob(stack.client, jobId);
    await waitForJob(stack.client, jobId);

    const log = await statusLogOf(stack.client, jobId);
    assert.deepEqual(
      log.map((e) => e.status),
      ['running', 'paused', 'running', 'completed'],
    );
    assert.deepEqual(await rows(jobId), log);
    const meta = await pg.query('SELECT DISTINCT kind, project FROM courier_status_log WHERE job_id = $1', [jobId]);
    assert.deepEqual(meta.rows, [{ kind: 'backup', project: 'ccap' }]);
  });

  it('a failed job leaves its failure and cause in the ledger', async () => {
    const { jobId } = await submit(stack.client, stack.config, { kind: 'backup', name: 'ledger-fail', source: path.join(dir, 'absent.bin') });
    await assert.rejects(waitForJob(stack.client, jobId), JobFailedError);
    const log = await statusLogOf(stack.client, jobId);
    const ledger = await rows(jobId);
    assert.deepEqual(ledger, log);
    assert.equal(ledger.at(-1)?.status, 'failed');
    assert.match(ledger.at(-1)?.note ?? '', /absent\.bin/);

    // Retried once the file is there: the new run's rows join the ledger, which ends completed.
    await randomFile(dir, 'absent.bin', 64 * 1024);
    await retryJob(stack.client, stack.config, jobId);
    await waitForJob(stack.client, jobId);
    const retried = await rows(jobId);
    assert.deepEqual(retried.slice(0, ledger.length), ledger, 'the failed run stays recorded');
    assert.deepEqual(retried.slice(ledger.length), await statusLogOf(stack.client, jobId), "the retry's rows follow");
    assert.equal(retried.at(-1)?.status, 'completed');
  });

  it('a ledger table keyed before retries existed takes the run into its key, keeping its rows', async () => {
    // The table as an older courier left it; a worker started after the upgrade opens the ledger afresh.
    await stack.stopWorker();
    // Such a table never held two runs' rows at one position (it dropped the later ones): neither may this one.
    await pg.query(`DELETE FROM courier_status_log a USING courier_status_log b WHERE a.job_id = b.job_id AND a.seq = b.seq AND a.run_id > b.run_id`);
    await pg.query(`ALTER TABLE courier_status_log DROP CONSTRAINT courier_status_log_pkey, ADD PRIMARY KEY (job_id, seq)`);
    const table = await pg.query<{ n: number }>(`SELECT count(*)::int AS n FROM courier_status_log`);
    await stack.startWorker();
    const { jobId } = await submit(stack.client, stack.config, {
      kind: 'backup',
      name: 'ledger-upgrade',
      source: await randomFile(dir, 'up.bin', 64 * 1024),
    });
    await waitForJob(stack.client, jobId);
    const key = await pg.query<{ attname: string }>(
      `SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
       WHERE i.indrelid = 'courier_status_log'::regclass AND i.indisprimary ORDER BY a.attname`,
    );
    assert.deepEqual(
      key.rows.map((r) => r.attname),
      ['job_id', 'run_id', 'seq'],
    );
    assert.ok(
      (await pg.query<{ n: number }>(`SELECT count(*)::int AS n FROM courier_status_log`)).rows[0].n > table.rows[0].n,
      'rows kept and added',
    );
    assert.equal((await rows(jobId)).at(-1)?.status, 'completed');
  });
});
