import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { JobFailedError, submit, waitForJob } from '../src/client';
import type { EtlResult, TransformResult } from '../src/kinds/etl/contract';
import { MessageError } from '../src/jobs/message-error';
import { startSmtp, type SmtpReceiver } from './helpers/receivers';
import { createStack, runCli, scheduledActivities, sha256File, type Stack } from './helpers/stack';
import { COLUMNS, csv, dropTables, filesIn, idsIn, jsonl, MARIADB_URL, PG_URL, pgQuery, uniqueTable, writePipelines } from './helpers/etl';

describe('etl: extract, transform and load into PostgreSQL, MariaDB and SQLite', () => {
  let stack: Stack;
  let smtp: SmtpReceiver;
  let root: string;
  let source: string;
  const table = uniqueTable('orders');
  const rejectTable = uniqueTable('strict');
  const bigTable = uniqueTable('big');
  const heldTable = uniqueTable('held');
  const aloneTable = uniqueTable('alone');
  const sqliteFile = () => path.join(root, 'db', 'etl.sqlite');
  /** The password in the wrong-user location's URL: a mail about that location must not show it. */
  const WRONG_USER_PASSWORD = 's3cr3t-pw';

  before(async () => {
    smtp = await startSmtp();
    const base = await fs.mkdtemp(path.join(process.env.COURIER_TEST_TMP!, 'etl-'));
    root = path.join(base, 'etl');
    source = path.join(base, 'incoming');
    await fs.mkdir(source, { recursive: true });
    await writePipelines(root, {
      notify: ['ops@example.com'],
      locations: {
        pg: { kind: 'postgres', url: PG_URL },
        maria: { kind: 'mariadb', url: MARIADB_URL },
        local: { kind: 'sqlite', path: 'db/etl.sqlite' },
        held: { kind: 'sqlite', path: 'db/held.sqlite' },
        'pg-wrong-user': { kind: 'postgres', url: `postgres://no_such_courier_user:${WRONG_USER_PASSWORD}@127.0.0.1:5432/test` },
      },
      pipelines: {
        orders: { patterns: ['*.csv', '*.jsonl'], columns: COLUMNS, key: ['id'], table, batchSize: 2, locations: ['pg', 'maria', 'local'] },
        strict: { columns: COLUMNS, key: ['id'], table: rejectTable, batchSize: 100, locations: ['pg-wrong-user', 'maria', 'local'] },
        big: { columns: COLUMNS, key: ['id'], table: bigTable, batchSize: 1000, locations: ['pg'] },
        held: { columns: COLUMNS, key: ['id'], table: heldTable, batchSize: 100, locations: ['held'] },
        alone: { columns: COLUMNS, key: ['id'], table: aloneTable, batchSize: 2, locations: ['local'] },
        refused: { columns: COLUMNS, key: ['id'], table: aloneTable, batchSize: 100, locations: ['pg-wrong-user'] },
      },
    });
    stack = await createStack({ COURIER_ETL_ROOT: root, COURIER_SMTP_URL: smtp.url, COURIER_ETL_LOAD_ATTEMPTS: '2' });
    await stack.startWorker();
  });
  after(async () => {
    await stack?.close();
    await smtp?.close();
    await dropTables([table, rejectTable, bigTable, aloneTable]);
  });

  it('files valid records from mixed CSV and JSON Lines, rejects the invalid files with a mail each, and loads every valid record once into every database', async () => {
    const aCsv = csv([
      [1, 'ann', 10.5, 'true'],
      [2, 'bob', 3, ''],
      [3, 'cy', 0, 'no'],
    ]);
    await fs.writeFile(path.join(source, 'a.csv'), aCsv);
    await fs.writeFile(
      path.join(source, 'b.jsonl'),
      jsonl([
        { id: 4, customer: 'dee', amount: 1 },
        { id: 5, customer: 'eve', amount: 2.25, paid: true },
      ]),
    );
    await fs.writeFile(path.join(source, 'empty.csv'), csv([]));
    await fs.writeFile(
      path.join(source, 'bad-number.csv'),
      csv([
        [6, 'fay', 1, 'yes'],
        [7, 'gus', 'lots', 'no'],
      ]),
    );
    await fs.writeFile(path.join(source, 'bad-json.jsonl'), `${JSON.stringify({ id: 8, customer: 'hal', amount: 1 })}\n{"id": 9, "customer":\n`);
    await fs.writeFile(path.join(source, 'bad-header.csv'), 'id,name,amount\n10,ivy,1\n');
    await fs.writeFile(path.join(source, 'notes.txt'), 'not a data file\n');

    const { jobId } = await submit(stack.client, stack.config, { kind: 'etl', pipeline: 'orders', source });
    await assert.rejects(waitForJob(stack.client, jobId), (err: unknown) => {
      assert.ok(err instanceof JobFailedError, String(err));
      assert.match(err.message, /3 of 6 file\(s\) invalid/);
      assert.match(err.message, /bad-number\.[0-9a-f]{8}\.csv: line 3: column "amount": "lots" is not a number/);
      assert.match(err.message, /bad-json\.[0-9a-f]{8}\.jsonl: line 2: not valid JSON/);
      assert.match(err.message, /bad-header\.[0-9a-f]{8}\.csv: header .* missing customer, paid; unexpected name/);
      assert.match(err.message, /3 transform job\(s\) started/);
      return true;
    });

    const stem = (names: string[]) => names.map((n) => n.replace(/\.[0-9a-f]{8}(\.\w+)$/, '$1'));
    assert.deepEqual(stem(await filesIn(root, 'E/failed')), ['bad-header.csv', 'bad-json.jsonl', 'bad-number.csv']);
    assert.deepEqual(stem(await filesIn(root, 'E/resolved')), ['a.csv', 'b.jsonl', 'empty.csv']);
    assert.deepEqual(stem(await filesIn(root, 'T/resolved')), ['a.csv', 'b.jsonl', 'empty.csv']);
    assert.equal((await filesIn(root, 'L/resolved')).length, 3, 'a.csv in 2 batches, b.jsonl in 1');
    for (const dir of ['E/working', 'T/working', 'T/work_in_process', 'L/working', 'L/work_in_progress'])
      assert.deepEqual(await filesIn(root, dir), [], `${dir} is empty`);
    assert.equal(await fs.readFile(path.join(source, 'notes.txt'), 'utf8'), 'not a data file\n', 'a file outside the patterns is left alone');
    assert.equal(await fs.readFile(path.join(source, 'a.csv'), 'utf8'), aCsv, 'the source is copied, not moved, and left as it was');

    const ids = await idsIn({ pg: table, maria: table, sqlite: { file: sqliteFile(), table } });
    assert.deepEqual(ids, { pg: [1, 2, 3, 4, 5], maria: [1, 2, 3, 4, 5], sqlite: [1, 2, 3, 4, 5] });

    for (const bad of ['bad-number', 'bad-json', 'bad-header']) {
      const mail = await smtp.waitFor(`mail about ${bad}`, (m) => m.subject.includes(`${bad}.`) && m.subject.includes('is invalid'));
      assert.deepEqual(mail.to, ['ops@example.com']);
      assert.match(mail.text, /move E\/failed\/.* into the watched inbox/);
    }
    assert.equal(smtp.mails.filter((m) => m.subject.includes('is invalid')).length, 3, 'one mail per invalid file, none for the valid ones');

    const transformOf = async (file: string) =>
      (await stack.client.workflow.getHandle(`${jobId}-T-${(await sha256File(path.join(source, file))).slice(0, 12)}`).result()) as TransformResult;
    const ofA = await transformOf('a.csv');
    assert.equal(ofA.records, 3);
    assert.equal(ofA.loadsStarted, 2, 'batches of 2: two Load jobs');
    assert.deepEqual(ofA.locations.map((l) => [l.location, l.records, l.inserted]).sort(), [
      ['local', 3, 3],
      ['maria', 3, 3],
      ['pg', 3, 3],
    ]);
    assert.equal((await transformOf('empty.csv')).loadsStarted, 0, 'a file with no records starts no Load (0 is an answer)');
  });

  it('courier etl runs a file through the pipeline and prints what each location took', async () => {
    const file = path.join(source, '..', 'cli.csv');
    await fs.writeFile(
      file,
      csv([
        [201, 'kim', 4, 'yes'],
        [202, 'lou', 5, 'no'],
        [203, 'max', 6, ''],
      ]),
    );
    const run = await runCli(['etl', file, '--pipeline', 'orders', '--wait'], stack.env);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /etl orders from .*cli\.csv: 1 transform job\(s\) started/);
    for (const location of ['pg', 'maria', 'local']) assert.match(run.stdout, new RegExp(`  ${location}: 3 record\\(s\\) loaded, 3 new`));
    const again = await runCli(['etl', file, '--pipeline', 'orders', '--wait', '--json'], stack.env);
    assert.equal(again.code, 0, again.stderr);
    const result = (JSON.parse(again.stdout) as { result: EtlResult }).result;
    assert.deepEqual(
      result.locations.map((l) => [l.location, l.records, l.inserted]).sort(),
      [
        ['local', 3, 0],
        ['maria', 3, 0],
        ['pg', 3, 0],
      ],
      'a repeated extract loads nothing twice',
    );
    const missing = await runCli(['etl', path.join(source, 'nope.csv'), '--pipeline', 'orders', '--wait'], stack.env);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /nope\.csv does not exist/);
  });

  it('refuses a message that names an unknown pipeline, before anything starts', async () => {
    await assert.rejects(submit(stack.client, stack.config, { kind: 'etl', pipeline: 'nope', source }), (err: unknown) => {
      assert.ok(err instanceof MessageError);
      assert.match(err.message, /no pipeline "nope" in .*pipelines\.json; it defines orders, strict, big, held/);
      return true;
    });
  });

  it('goes on when one location refuses the login and another rejects the rows: the good one is loaded, the batch is copied to each failed location, and a mail names it', async () => {
    await dropTables([rejectTable]);
    const { mariaQuery } = await import('./helpers/etl');
    await mariaQuery(
      `CREATE TABLE \`${rejectTable}\` (id BIGINT PRIMARY KEY, customer TEXT NOT NULL, amount DOUBLE NOT NULL CHECK (amount >= 0), paid BOOLEAN)`,
    );
    const file = path.join(source, '..', 'strict.csv');
    await fs.writeFile(
      file,
      csv([
        [1, 'ann', 5, 'yes'],
        [2, 'bob', -3, 'no'],
        [3, 'cy', 7, ''],
      ]),
    );

    const { jobId } = await submit(stack.client, stack.config, { kind: 'etl', pipeline: 'strict', source: file });
    const result = (await waitForJob(stack.client, jobId)) as EtlResult;
    assert.equal(result.transformsStarted, 1);
    assert.deepEqual(result.locations.map((l) => [l.location, l.records, l.failedBatches]).sort(), [
      ['local', 3, 0],
      ['maria', 0, 1],
      ['pg-wrong-user', 0, 1],
    ]);
    const ids = await idsIn({ maria: rejectTable, sqlite: { file: sqliteFile(), table: rejectTable } });
    assert.deepEqual(ids, { maria: [], sqlite: [1, 2, 3] }, 'the refused transaction left nothing behind');
    for (const location of ['pg-wrong-user', 'maria']) {
      const parked = await filesIn(root, `L/${location}/failed`);
      assert.equal(parked.length, 1, `${location} has the failed batch`);
      assert.match(parked[0], /^strict\.[0-9a-f]{8}\.b000001\.tsv$/);
      const mail = await smtp.waitFor(`mail naming ${location}`, (m) => m.subject.includes(`storage location ${location} could not load`));
      assert.match(mail.text, location === 'maria' ? /CONSTRAINT|constraint/ : /no_such_courier_user/);
      assert.ok(mail.text.includes(location), `the mail names ${location}`);
      // The pg-wrong-user URL carries a password; the mail names the location and its address, never the secret.
      for (const part of [mail.subject, mail.text])
        assert.ok(!part.includes(WRONG_USER_PASSWORD), `the mail about ${location} shows no password: ${part}`);
      if (location === 'pg-wrong-user')
        assert.match(mail.text, /postgres:\/\/no_such_courier_user:\*\*\*@127\.0\.0\.1:5432\/test/, 'the address, password masked');
    }
    assert.ok(
      (await filesIn(root, 'L/resolved')).some((n) => n.startsWith('strict.')),
      'the batch itself is resolved',
    );
  });

  it('a batch with one location is taken, checked, loaded and filed in one step; when that location fails it is parked and filed as before', async () => {
    const activitiesOf = (workflowId: string) => scheduledActivities(stack.client, workflowId);
    const loadsOf = (result: EtlResult) => {
      const transform = result.transforms[0]!;
      return Array.from({ length: transform.loadsStarted ?? 0 }, (_, i) => `${transform.jobId}-L${i + 1}`);
    };
    const load = async (pipeline: string, rows: Parameters<typeof csv>[0]) => {
      const file = path.join(source, '..', `${pipeline}.csv`);
      await fs.writeFile(file, csv(rows));
      return (await waitForJob(stack.client, (await submit(stack.client, stack.config, { kind: 'etl', pipeline, source: file })).jobId)) as EtlResult;
    };
    const tallies = (result: EtlResult) => result.locations.map((l) => [l.location, l.records, l.failedBatches]);

    const loaded = await load('alone', [
      [1, 'ann', 5, 'yes'],
      [2, 'bob', 3, 'no'],
      [3, 'cy', 7, ''],
    ]);
    assert.deepEqual(tallies(loaded), [['local', 3, 0]]);
    // E extracts, checks and hands over the file in one step; T takes, splits and files it in one.
    assert.deepEqual(await activitiesOf(loaded.jobId), ['hostOfWorker', 'listEtlSources', 'extractAndCheckEtlFile', 'moveEtlFile']);
    assert.deepEqual(await activitiesOf(loaded.transforms[0]!.jobId), ['takeAndSplitEtlFile']);
    const loads = loadsOf(loaded);
    assert.equal(loads.length, 2);
    for (const id of loads) {
      assert.deepEqual(await activitiesOf(id), ['takeAndLoadBatch'], `${id}: one step`);
      // The Transform decides how its loads run: a patch in each load would add a marker and a visibility write per batch.
      const patches = ((await stack.client.workflow.getHandle(id).fetchHistory()).events ?? []).flatMap((e) =>
        e.markerRecordedEventAttributes?.markerName === 'core_patch'
          ? [
              Object.values(e.markerRecordedEventAttributes.details ?? {})
                .flatMap((p) => p.payloads ?? [])
                .map((p) => Buffer.from(p.data ?? []).toString())
                .join(' '),
            ]
          : [],
      );
      assert.equal(patches.length, 1, `${id}: only the marker every job has`);
      assert.match(patches[0]!, /courier-patches-2026-12/);
    }
    const resolved = await filesIn(root, 'L/resolved');
    assert.equal(resolved.filter((n) => n.startsWith('alone.')).length, 2, 'both batches filed as resolved');

    const refused = await load('refused', [[4, 'dee', 1, 'yes']]);
    assert.deepEqual(tallies(refused), [['pg-wrong-user', 0, 1]]);
    assert.deepEqual(await activitiesOf(loadsOf(refused)[0]!), ['takeAndLoadBatch', 'moveEtlFile', 'mailOperators', 'moveEtlFile']);
    assert.equal((await filesIn(root, 'L/pg-wrong-user/failed')).filter((n) => n.startsWith('refused.')).length, 1, 'parked');
    assert.equal((await filesIn(root, 'L/resolved')).filter((n) => n.startsWith('refused.')).length, 1, 'and filed as resolved');
    assert.equal((await filesIn(root, 'L/work_in_progress')).filter((n) => /^(alone|refused)\./.test(n)).length, 0, 'nothing left in progress');
  });

  it('waits for a SQLite file another process holds locked, longer than the load attempts last: the batch goes in once the lock is let go, nothing parked', async () => {
    const file = path.join(root, 'db', 'held.sqlite');
    await fs.mkdir(path.dirname(file), { recursive: true });
    // An operator's session (or another worker's long load) holding a write lock until told to let go.
    const holder = spawn(
      process.execPath,
      [
        '-e',
        `const { Database } = require('node-sqlite3-wasm');
         const db = new Database(${JSON.stringify(file)});
         db.exec('BEGIN IMMEDIATE');
         console.log('locked');
         process.stdin.once('data', () => { db.exec('COMMIT'); db.close(); console.log('let go'); process.exit(0); });`,
      ],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    const said = (word: string) =>
      new Promise<void>((resolve, reject) => {
        holder.stdout!.on('data', (d: Buffer) => d.toString().includes(word) && resolve());
        holder.once('exit', (code) => code !== 0 && reject(new Error(`the lock holder exited (${code}) before saying "${word}"`)));
      });
    try {
      await said('locked');
      const source = path.join(root, '..', 'held.csv');
      await fs.writeFile(
        source,
        csv([
          [1, 'ann', 1, 'yes'],
          [2, 'bob', 2, 'no'],
          [3, 'cy', 3, ''],
        ]),
      );
      const { jobId } = await submit(stack.client, stack.config, { kind: 'etl', pipeline: 'held', source });
      // The load has begun once its batch is in work_in_progress; the lock outlasts its 2 attempts (1 s apart) by far.
      const deadline = Date.now() + 60_000;
      while (!(await filesIn(root, 'L/work_in_progress')).some((n) => n.startsWith('held.'))) {
        assert.ok(Date.now() < deadline, 'the batch reached L/work_in_progress within 60 s');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await new Promise((resolve) => setTimeout(resolve, 5000));
      const letGo = said('let go');
      holder.stdin!.write('go\n');
      await letGo;
      const result = (await waitForJob(stack.client, jobId)) as EtlResult;
      assert.deepEqual(
        result.locations.map((l) => [l.location, l.records, l.inserted, l.failedBatches]),
        [['held', 3, 3, 0]],
      );
      assert.deepEqual(await idsIn({ sqlite: { file, table: heldTable } }), { sqlite: [1, 2, 3] });
      assert.deepEqual(await filesIn(root, 'L/held/failed'), [], 'nothing parked');
    } finally {
      holder.kill('SIGKILL');
    }
  });

  it('reads a file once: a bad record past the stretch E checks is found by T as it splits, the file goes to T/validate/failed, and no batch of it is left or loaded', async () => {
    const good = Array.from({ length: 12_000 }, (_, i) => [i + 1, `customer-${i + 1}`, (i % 100) / 4, i % 2 ? 'yes' : 'no']);
    const file = path.join(source, '..', 'late-error.csv');
    await fs.writeFile(file, csv([...good, [12_001, 'zed', 'NaN-ish', 'no']]));
    assert.ok((await fs.stat(file)).size > 256 * 1024, 'the bad record lies beyond the first stretch E reads');

    const { jobId } = await submit(stack.client, stack.config, { kind: 'etl', pipeline: 'big', source: file });
    await assert.rejects(waitForJob(stack.client, jobId), (err: unknown) => {
      assert.ok(err instanceof JobFailedError, String(err));
      assert.match(err.message, /1 transform\(s\) failed: late-error\.[0-9a-f]{8}\.csv: .*line 12002: column "amount": "NaN-ish" is not a number/);
      return true;
    });
    assert.equal((await filesIn(root, 'E/failed')).filter((n) => n.startsWith('late-error.')).length, 0, 'E let it through');
    assert.equal((await filesIn(root, 'T/validate/failed')).filter((n) => n.startsWith('late-error.')).length, 1, 'T filed it as failed');
    assert.deepEqual(
      (await filesIn(root, 'L/working')).filter((n) => n.startsWith('late-error.')),
      [],
      'the batches written before the bad record are gone',
    );
    assert.equal((await pgQuery<{ n: string }>(`SELECT count(*) AS n FROM "${bigTable}"`).catch(() => [{ n: '0' }]))[0].n, '0', 'nothing loaded');
    const mail = await smtp.waitFor('mail about late-error', (m) => m.subject.includes('late-error.') && m.subject.includes('is invalid'));
    assert.match(mail.subject, /moved to T\/validate\/failed/);
    assert.match(mail.text, /line 12002/);
  });
});
