/**
 * `npm run bench`: courier's backup and restore of one large file against
 * rclone copying the same file to and from a chunker remote (same chunk size,
 * local disk underneath), in alternating rounds on one machine. Ends with
 * `ratio backup=X restore=Y`: courier's median time over rclone's. Before that,
 * the S3 rounds (scripts/bench/s3.ts) print `ratio s3_backup=X` (default parts
 * layout) and `ratio s3_backup_object=X` against `rclone copy` to the same server.
 *
 *   BENCH_SIZE    file size (default 1GiB; any COURIER_PART_SIZE syntax)
 *   BENCH_ROUNDS  rounds of each tool (default 3)
 *   BENCH_S3=0    skips the S3 rounds
 *   COURIER_PART_SIZE / COURIER_CONCURRENCY apply to courier; rclone chunks at the same size.
 *
 * Then (scripts/bench/snapshots.ts) snapshots against restic: first and second
 * backup, restore, bytes written and CSV store size, ending with
 * `ratio snap_backup=… snap_backup2=… snap_restore=… snap_bytes2=… snap_csv_store=…`.
 *   BENCH_BIG     the large file for the memory check (default 10GiB; 0 skips it)
 *
 * Then (scripts/bench/etl.ts), ETL loads of BENCH_ETL_ROWS CSV rows into each
 * database against its bulk tool, ending with `ratio etl_postgres=… etl_mariadb=… etl_sqlite=…`.
 *
 * Last (scripts/bench/small.ts), BENCH_SMALL_JOBS backups of 4 KiB against as
 * many no-op workflows of one activity, ending with `ratio small=…`.
 *   `npm run bench -- snapshots` runs only the snapshots part, `-- etl` only the
 *   ETL part, `-- files` only the fs and S3 rounds, `-- small` only the small jobs.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connectClient, submit, waitForJob } from '../src/client';
import { loadConfig, parseSize } from '../src/config';
import { startDevServerOnFreePort } from '../src/dev-server/dev-server';
import { randomFile, sha256File } from '../test/helpers/files';
import { median, peakRssMiB, run, spawnWorker, stopWorker } from './bench/processes';
import { benchS3 } from './bench/s3';
import { benchSnapshots } from './bench/snapshots';
import { benchEtl } from './bench/etl';
import { benchSmall } from './bench/small';

const MiB = 1024 * 1024;

interface Sample {
  tool: 'courier' | 'rclone';
  op: 'backup' | 'restore';
  seconds: number;
}

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
  const config = loadConfig(env);
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
      console.log(await benchEtl({ work, env, rounds }));
    } finally {
      await server.stop();
      fs.rmSync(work, { recursive: true, force: true });
    }
    return;
  }
  if (mode === 'snapshots') {
    try {
      const snap = await benchSnapshots({ work, env, size, bigSize: process.env.BENCH_BIG === '0' ? 0 : sizeFrom('BENCH_BIG', '10GiB') });
      console.log(snap.ratios);
    } finally {
      await server.stop();
      fs.rmSync(work, { recursive: true, force: true });
    }
    return;
  }
  const worker = spawnWorker(env);
  const client = await connectClient(config);
  const rcloneEnv: NodeJS.ProcessEnv = {
    ...process.env,
    RCLONE_CONFIG_BENCH_TYPE: 'chunker',
    RCLONE_CONFIG_BENCH_REMOTE: path.join(work, 'rclone-store'),
    // "B": rclone reads a bare number as KiB.
    RCLONE_CONFIG_BENCH_CHUNK_SIZE: `${config.partSize}B`,
    // rclone then hashes every chunk and checks the copy, as courier does.
    RCLONE_CONFIG_BENCH_HASH_TYPE: 'sha1',
  };
  try {
    console.log(
      `file ${(size / MiB).toFixed(0)} MiB, part ${(config.partSize / MiB).toFixed(0)} MiB, concurrency ${config.concurrency}, ${rounds} rounds`,
    );
    const source = await randomFile(work, 'source.bin', size);
    const expected = await sha256File(source);
    const samples: Sample[] = [];
    let rclonePeak = 0;

    const verify = async (file: string, who: string, sha256 = expected) => {
      if ((await sha256File(file)) !== sha256) throw new Error(`${who}'s restored copy ${file} differs from the source`);
      fs.rmSync(file);
    };

    const courierRound = async (round: number | string, file = source) => {
      const name = `bench-${round}`;
      let started = process.hrtime.bigint();
      const backup = await submit(client, config, { kind: 'backup', source: file, name });
      await waitForJob(client, backup.jobId);
      samples.push({ tool: 'courier', op: 'backup', seconds: Number(process.hrtime.bigint() - started) / 1e9 });
      const dest = path.join(work, 'restored-courier.bin');
      started = process.hrtime.bigint();
      const restore = await submit(client, config, { kind: 'restore', name, dest });
      await waitForJob(client, restore.jobId);
      samples.push({ tool: 'courier', op: 'restore', seconds: Number(process.hrtime.bigint() - started) / 1e9 });
      await verify(dest, 'courier', file === source ? expected : await sha256File(file));
    };

    const rcloneRound = async (round: number) => {
      const remote = `bench:round-${round}`;
      const backup = await run('rclone', ['copy', source, remote], rcloneEnv);
      samples.push({ tool: 'rclone', op: 'backup', seconds: backup.seconds });
      const outDir = path.join(work, 'restored-rclone');
      const restore = await run('rclone', ['copy', `${remote}/source.bin`, outDir], rcloneEnv);
      samples.push({ tool: 'rclone', op: 'restore', seconds: restore.seconds });
      rclonePeak = Math.max(rclonePeak, backup.peakMiB ?? 0, restore.peakMiB ?? 0);
      await verify(path.join(outDir, 'source.bin'), 'rclone');
    };

    // A first job on a file an eighth the size: the worker's memory after it is the baseline the big rounds are held to.
    const small = await randomFile(work, 'small.bin', Math.max(1, Math.floor(size / 8)));
    await courierRound('warmup', small);
    samples.length = 0;
    fs.rmSync(small);
    const rssAfterSmall = peakRssMiB(worker.pid);

    for (let round = 1; round <= rounds; round++) {
      // Alternate who goes first, so neither always meets a warm or a cold page cache.
      const order = round % 2 === 1 ? [courierRound, rcloneRound] : [rcloneRound, courierRound];
      for (const step of order) await step(round);
      const last = samples
        .slice(-4)
        .map((s) => `${s.tool} ${s.op} ${s.seconds.toFixed(2)}s`)
        .join(', ');
      console.log(`round ${round}/${rounds}: ${last}`);
    }

    const medianOf = (tool: Sample['tool'], op: Sample['op']) => median(samples.filter((s) => s.tool === tool && s.op === op).map((s) => s.seconds));
    console.log('\n            median s   MiB/s');
    for (const tool of ['courier', 'rclone'] as const) {
      for (const op of ['backup', 'restore'] as const) {
        const seconds = medianOf(tool, op);
        console.log(`${`${tool} ${op}`.padEnd(16)}${seconds.toFixed(2).padStart(8)}${(size / MiB / seconds).toFixed(0).padStart(8)}`);
      }
    }
    const mib = (value: number | undefined) => `${value?.toFixed(0) ?? '?'} MiB`;
    console.log(
      `peak RSS: courier worker ${mib(rssAfterSmall)} after the ${(size / 8 / MiB).toFixed(0)} MiB warm-up, ` +
        `${mib(peakRssMiB(worker.pid))} after the ${(size / MiB).toFixed(0)} MiB rounds; rclone ${mib(rclonePeak)}`,
    );
    const ratio = (op: Sample['op']) => (medianOf('courier', op) / medianOf('rclone', op)).toFixed(2);
    const fsRatios = `ratio backup=${ratio('backup')} restore=${ratio('restore')}`;

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
      snapRatios = (await benchSnapshots({ work, env, size, bigSize: process.env.BENCH_BIG === '0' ? 0 : sizeFrom('BENCH_BIG', '10GiB') })).ratios;
      console.log("\nETL loads against each database's bulk tool:");
      etlRatios = await benchEtl({ work, env, rounds });
      console.log('\nsmall jobs against the Temporal floor:');
      smallRatio = await benchSmall({ work, env, rounds, serverPid: server.process.pid });
    }
    console.log(fsRatios);
    if (snapRatios) console.log(snapRatios);
    if (etlRatios) console.log(etlRatios);
    if (smallRatio) console.log(smallRatio);
  } finally {
    await stopWorker(worker);
    await client.connection.close();
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
