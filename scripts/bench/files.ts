/**
 * The fs rounds of `npm run bench`: courier's backup and restore of one large
 * file against rclone copying it to and from a chunker remote (same chunk
 * size, local disk underneath), in alternating rounds. Then one courier round
 * of a BENCH_BIG_FILES file (default 4GiB; 0 skips it), so the host worker's
 * peak memory is read at both sizes.
 *
 * courier runs as hosts run it, compiled with its prebuilt workflow bundle: a
 * control worker (workflows) and a host-only worker that does the byte work,
 * each in its own process. The host worker's peak is the memory the issue
 * holds flat; webpack bundling at start would otherwise set the peak by itself.
 */
import fs from 'node:fs';
import path from 'node:path';
import { connectClient, submit, waitForJob } from '../../src/client';
import { loadConfig } from '../../src/config';
import { hostQueue } from '../../src/jobs/keys';
import { randomFile, sha256File } from '../../test/helpers/files';
import { printTimeline } from './timeline';
import { buildDist, median, peakRssMiB, rssOncePolling, run, secondsSince, spawnWorker, stopWorker } from './processes';

const MiB = 1024 * 1024;
const DATA_HOST = 'bench-files';

interface Sample {
  tool: 'courier' | 'rclone';
  op: 'backup' | 'restore';
  seconds: number;
}

export interface FilesBench {
  /** `ratio backup=X restore=Y` */
  ratios: string;
  /** The source file, left for the S3 rounds. */
  source: string;
}

export async function benchFiles(options: {
  work: string;
  env: NodeJS.ProcessEnv;
  size: number;
  bigSize: number;
  rounds: number;
}): Promise<FilesBench> {
  const { work, size, rounds } = options;
  const env: NodeJS.ProcessEnv = { ...options.env, COURIER_WORKFLOW_BUNDLE: buildDist().workflowBundle };
  const config = loadConfig(env);
  const client = await connectClient(config);
  const control = spawnWorker(env, { compiled: true, args: ['--host', 'bench-control'] });
  const worker = spawnWorker(env, { compiled: true, args: ['--host-only', '--host', DATA_HOST] });
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
    const atRest = await rssOncePolling(client, config, hostQueue(DATA_HOST), worker.pid!);
    console.log(
      `file ${(size / MiB).toFixed(0)} MiB, part ${(config.partSize / MiB).toFixed(0)} MiB, concurrency ${config.concurrency}, ${rounds} rounds`,
    );
    const source = await randomFile(work, 'source.bin', size);
    const expected = await sha256File(source);
    const samples: Sample[] = [];
    let rclonePeak = 0;

    const verify = async (file: string, who: string, sha256: string) => {
      if ((await sha256File(file)) !== sha256) throw new Error(`${who}'s restored copy ${file} differs from the source`);
      fs.rmSync(file);
    };

    const courierRound = async (round: number | string, file = source, sha256 = expected) => {
      const name = `bench-${round}`;
      const backupWall = Date.now();
      let started = process.hrtime.bigint();
      const backup = await submit(client, config, { kind: 'backup', source: file, name, host: DATA_HOST });
      await waitForJob(client, backup.jobId);
      samples.push({ tool: 'courier', op: 'backup', seconds: secondsSince(started) });
      const dest = path.join(work, 'restored-courier.bin');
      started = process.hrtime.bigint();
      const restore = await submit(client, config, { kind: 'restore', name, dest, host: DATA_HOST });
      await waitForJob(client, restore.jobId);
      samples.push({ tool: 'courier', op: 'restore', seconds: secondsSince(started) });
      if (process.env.BENCH_TIMELINE === '1') await printTimeline(client, [backup.jobId, restore.jobId], backupWall);
      await verify(dest, 'courier', sha256);
    };

    const rcloneRound = async (round: number) => {
      const remote = `bench:round-${round}`;
      const backup = await run('rclone', ['copy', source, remote], rcloneEnv);
      samples.push({ tool: 'rclone', op: 'backup', seconds: backup.seconds });
      const outDir = path.join(work, 'restored-rclone');
      const restore = await run('rclone', ['copy', `${remote}/source.bin`, outDir], rcloneEnv);
      samples.push({ tool: 'rclone', op: 'restore', seconds: restore.seconds });
      rclonePeak = Math.max(rclonePeak, backup.peakMiB ?? 0, restore.peakMiB ?? 0);
      await verify(path.join(outDir, 'source.bin'), 'rclone', expected);
    };

    // A first job on a file an eighth the size, so neither tool's first round pays for courier's start.
    const small = await randomFile(work, 'small.bin', Math.max(1, Math.floor(size / 8)));
    await courierRound('warmup', small, await sha256File(small));
    samples.length = 0;
    fs.rmSync(small);

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
    const peakAtSize = peakRssMiB(worker.pid);

    const medianOf = (tool: Sample['tool'], op: Sample['op']) => median(samples.filter((s) => s.tool === tool && s.op === op).map((s) => s.seconds));
    console.log('\n            median s   MiB/s');
    for (const tool of ['courier', 'rclone'] as const) {
      for (const op of ['backup', 'restore'] as const) {
        const seconds = medianOf(tool, op);
        console.log(`${`${tool} ${op}`.padEnd(16)}${seconds.toFixed(2).padStart(8)}${(size / MiB / seconds).toFixed(0).padStart(8)}`);
      }
    }
    const ratio = (op: Sample['op']) => (medianOf('courier', op) / medianOf('rclone', op)).toFixed(2);
    const ratios = `ratio backup=${ratio('backup')} restore=${ratio('restore')}`;

    let peakBig: number | undefined;
    if (options.bigSize > 0) {
      const big = await randomFile(work, 'big.bin', options.bigSize);
      const bigSha = await sha256File(big);
      samples.length = 0;
      await courierRound('big', big, bigSha);
      fs.rmSync(big);
      peakBig = peakRssMiB(worker.pid);
      const [backup, restore] = samples;
      console.log(
        `courier ${(options.bigSize / MiB).toFixed(0)} MiB: backup ${backup!.seconds.toFixed(2)}s, restore ${restore!.seconds.toFixed(2)}s`,
      );
    }
    const mib = (value: number | undefined) => `${value?.toFixed(0) ?? '?'} MiB`;
    console.log(
      `peak RSS: host worker ${mib(atRest)} at rest, ${mib(peakAtSize)} after the ${(size / MiB).toFixed(0)} MiB rounds` +
        `${peakBig === undefined ? '' : `, ${mib(peakBig)} after ${(options.bigSize / MiB).toFixed(0)} MiB`}; ` +
        `control worker ${mib(peakRssMiB(control.pid))}; rclone ${mib(rclonePeak)}`,
    );
    return { ratios, source };
  } finally {
    await stopWorker(worker);
    await stopWorker(control);
    await client.connection.close();
  }
}
