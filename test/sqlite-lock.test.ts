import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadSqlite } from '../src/kinds/etl/load-sqlite';
import { recordsBatch } from '../src/kinds/etl/batch-content';
import type { Pipeline } from '../src/kinds/etl/pipelines';
import { UNCLAIMED_LOCK_MS } from '../src/kinds/etl/sqlite-lock';
import { sqliteQuery } from './helpers/etl';

const pipeline: Pipeline = {
  format: 'csv',
  patterns: ['*'],
  columns: [{ name: 'id', type: 'integer', required: true }],
  key: ['id'],
  table: 'orders',
  batchSize: 10,
  locations: ['x'],
};

/**
 * A process that loads into `file` the way courier's loader does, inside
 * its transaction (the row inserted, the lock claimed), prints "locked" and
 * waits to be killed.
 */
function holdInsideTransaction(file: string): Promise<import('node:child_process').ChildProcess> {
  const script = `
    const { Database } = require('node-sqlite3-wasm');
    const { claimLock } = require(${JSON.stringify(path.resolve(__dirname, '../src/kinds/etl/sqlite-lock.ts'))});
    const db = new Database(${JSON.stringify(file)});
    db.exec('BEGIN IMMEDIATE');
    claimLock(${JSON.stringify(file)});
    db.run('INSERT INTO orders (id) VALUES (999)');
    console.log('locked');
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => d.toString().includes('locked') && resolve(child));
    child.on('exit', (code) => reject(new Error(`the lock holder exited (${code}) before it held the lock`)));
  });
}

const ids = (file: string) => sqliteQuery<{ id: number }>(file, 'SELECT id FROM orders ORDER BY id').map((r) => r.id);

describe('SQLite loads after a worker died holding the lock', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'courier-sqlite-lock-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a load after the holder was SIGKILLed inside its transaction removes the lock, and its uncommitted row is rolled back', async () => {
    const file = path.join(dir, 'killed.sqlite');
    await loadSqlite(file, pipeline, recordsBatch(pipeline, [{ id: 1 }]));
    const holder = await holdInsideTransaction(file);
    // While the holder lives, its lock stands: a load fails (and is retried by its activity) instead of breaking in.
    await assert.rejects(loadSqlite(file, pipeline, recordsBatch(pipeline, [{ id: 2 }])), /locked/);
    holder.kill('SIGKILL');
    await new Promise((resolve) => holder.once('exit', resolve));
    assert.ok(fs.existsSync(`${file}.lock`), 'the killed holder left its lock directory behind');

    assert.deepEqual(await loadSqlite(file, pipeline, recordsBatch(pipeline, [{ id: 2 }, { id: 3 }])), { records: 2, inserted: 2 });
    assert.deepEqual(ids(file), [1, 2, 3], 'the dead transaction’s row is gone, the new rows are in');
    assert.equal(fs.existsSync(`${file}.lock`), false);
    assert.equal(fs.existsSync(`${file}.courier-owner`), false, 'a finished load leaves no claim');
  });

  it('a lock claimed in this process’s own pid is an earlier life’s (a restarted container’s worker is pid 1 again) and is removed', async () => {
    const file = path.join(dir, 'restarted.sqlite');
    await loadSqlite(file, pipeline, recordsBatch(pipeline, [{ id: 1 }]));
    fs.mkdirSync(`${file}.lock`);
    fs.writeFileSync(`${file}.courier-owner`, JSON.stringify({ host: os.hostname(), pid: process.pid }));
    await loadSqlite(file, pipeline, recordsBatch(pipeline, [{ id: 2 }]));
    assert.deepEqual(ids(file), [1, 2]);
  });

  it('a lock nobody claims is left alone while young and removed once older than any load', async () => {
    const file = path.join(dir, 'unclaimed.sqlite');
    await loadSqlite(file, pipeline, recordsBatch(pipeline, [{ id: 1 }]));
    fs.mkdirSync(`${file}.lock`);
    await assert.rejects(loadSqlite(file, pipeline, recordsBatch(pipeline, [{ id: 2 }])), /locked/);
    const old = new Date(Date.now() - UNCLAIMED_LOCK_MS - 5000);
    fs.utimesSync(`${file}.lock`, old, old);
    await loadSqlite(file, pipeline, recordsBatch(pipeline, [{ id: 2 }]));
    assert.deepEqual(ids(file), [1, 2]);
  });
});
