/**
 * `npm run bench`: courier's backup and restore of one large file against
 * rclone copying the same file to and from a chunker remote (same chunk size,
 * local disk underneath), in alternating rounds on one machine
 * (scripts/bench/files.ts). Ends with `ratio backup=X restore=Y`: courier's
 * median time over rclone's, and the host worker's peak memory at BENCH_SIZE
 * and at BENCH_BIG_FILES (default 4GiB; 0 skips it). Before that,
 * the S3 rounds (scripts/bench/s3.ts) print `ratio s3_backup=X` (default parts
 * layout) and `ratio s3_backup_object=X` against `rclone copy` to the same server.
 *
 *   BENCH_SIZE    file size (default 1GiB; any COURIER_PART_SIZE syntax)
 *   BENCH_ROUNDS  rounds of each tool (default 3)
 *   BENCH_S3=0    skips the S3 rounds
 *   BENCH_BIG_FILES  the second file size for the memory check (default 4GiB; 0 skips it)
 *   COURIER_PART_SIZE / COURIER_CONCURRENCY apply to courier; rclone chunks at the same size.
 *
 * Then (scripts/bench/snapshots.ts) snapshots against restic: first and second
 * backup, restore, bytes written and CSV store size, ending with
 * `ratio snap_backup=… snap_backup2=… snap_restore=… snap_bytes2=… snap_csv_store=…`
 * (the restore is the median of BENCH_ROUNDS restores of each tool, alternating who goes first).
 *   BENCH_BIG     the large file for the memory check (default 10GiB; 0 skips it)
 *
 * Then (scripts/bench/etl.ts), ETL loads of BENCH_ETL_ROWS CSV rows into each
 * database against its bulk tool, ending with `ratio etl_postgres=… etl_mariadb=… etl_sqlite=…`.
 *
 * Last (scripts/bench/small.ts), BENCH_SMALL_JOBS backups of 4 KiB against as
 * many no-op workflows of one activity, ending with `ratio small=…`.
 *   BENCH_PROF=DIR  every worker the bench starts (the floor's too) writes CPU profiles into DIR as it stops.
 *   `npm run bench -- snapshots` runs only the snapshots part, `-- etl` only the
 *   ETL part, `-- files` only the fs and S3 rounds, `-- small` only the small jobs.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseSize } from '../src/config';
import { startDevServerOnFreePort } from '../src/dev-server/dev-server';
import { benchFiles } from './bench/files';
import { benchS3 } from './bench/s3';
import { benchSnapshots } from './bench/snapshots';
import { benchEtl } from './bench/etl';
import { benchSmall } from './bench/small';

const MiB = 1024 * 1024;

function requireRclone(): void {
  const probe = spawnSync('rclone', ['version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new Error(
      'the benchmark compares against rclone, which is not on PATH; install it (Debian: `apt-get install rclone`) and run `npm run bench` again',
    );
  }
  console.log(`reference: ${probe.stdout.split('\n')[0]}`);
}

function sizeFrom(variable: string, fallback: string): number {
  try {
    return parseSize(process.env[variable] ?? fallback);
  } catch (err) {
    throw new Error(`${variable}: ${(err as Error).message}`);
  }
}

async function main(): Promise<void> {
  const mode = process.argv[2] ?? 'all';
  if (!['all', 'small', 'files', 'snapshots', 'etl'].includes(mode))
    throw new Error(`unknown mode "${mode}": use small, files, snapshots, etl, or nothing for all`);
  if (mode === 'all' || mode === 'files') requireRclone();
  const size = sizeFrom('BENCH_SIZE', '1GiB');
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`BENCH_ROUNDS=${process.env.BENCH_ROUNDS} must be a whole number of at least 1`);

  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'courier-bench-'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    COURIER_DATA_DIR: path.join(work, 'data'),
    COURIER_TASK_QUEUE: 'bench',
    COURIER_LOG_LEVEL: 'warn',
    // Sources and restores live in the bench's own directory, outside the checkout.
    COURIER_SOURCE_ROOTS: work,
    COURIER_RESTORE_ROOTS: work,
  };
  const server = await startDevServerOnFreePort({
    headless: true,
    dbFile: path.join(work, 'temporal.db'),
    logFile: path.join(work, 'temporal.log'),
  });
  env.TEMPORAL_ADDRESS = server.address;
  if (mode === 'small') {
    try {
      console.log(await benchSmall({ work, env, rounds, serverPid: server.process.pid }));
    } finally {
      await server.stop();
      fs.rmSync(work, { recursive: true, force: true });
    }
    return;
  }
  if (mode === 'etl') {
    try {
      console.log(await benchEtl({ work, env, rounds, serverPid: server.process.pid }));
    } finally {
      await server.stop();
      fs.rmSync(work, { recursive: true, force: true });
    }
    return;
  }
  if (mode === 'snapshots') {
    try {
      const snap = await benchSnapshots({ work, env, size, rounds, bigSize: process.env.BENCH_BIG === '0' ? 0 : sizeFrom('BENCH_BIG', '10GiB') });
      console.log(snap.ratios);
    } finally {
      await server.stop();
      fs.rmSync(work, { recursive: true, force: true });
    }
    return;
  }
  try {
    const bigSize = process.env.BENCH_BIG_FILES === '0' ? 0 : sizeFrom('BENCH_BIG_FILES', '4GiB');
    const { source, ratios: fsRatios } = await benchFiles({ work, env, size, bigSize, rounds });

    if (process.env.BENCH_S3 !== '0') {
      console.log('\nbackup to an S3 server (versitygw on local disk):');
      const s3 = await benchS3({ work, source, rounds, env });
      console.log('\n                 median s   MiB/s');
      for (const [label, seconds] of [
        ['courier parts', s3.courierParts],
        ['courier object', s3.courierObject],
        ['rclone copy', s3.rclone],
      ] as const) {
        console.log(`${label.padEnd(18)}${seconds.toFixed(2).padStart(7)}${(size / MiB / seconds).toFixed(0).padStart(8)}`);
      }
      console.log(`ratio s3_backup_object=${(s3.courierObject / s3.rclone).toFixed(2)}`);
      console.log(`ratio s3_backup=${(s3.courierParts / s3.rclone).toFixed(2)}`);
    }
    let snapRatios = '';
    let etlRatios = '';
    let smallRatio = '';
    if (mode === 'all') {
      fs.rmSync(source);
      snapRatios = (await benchSnapshots({ work, env, size, rounds, bigSize: process.env.BENCH_BIG === '0' ? 0 : sizeFrom('BENCH_BIG', '10GiB') }))
        .ratios;
      console.log("\nETL loads against each database's bulk tool:");
      etlRatios = await benchEtl({ work, env, rounds, serverPid: server.process.pid });
      console.log('\nsmall jobs against the Temporal floor:');
      smallRatio = await benchSmall({ work, env, rounds, serverPid: server.process.pid });
    }
    console.log(fsRatios);
    if (snapRatios) console.log(snapRatios);
    if (etlRatios) console.log(etlRatios);
    if (smallRatio) console.log(smallRatio);
  } finally {
    await server.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    console.error(`bench failed: ${err.message}`);
    process.exit(1);
  },
);
