/**
 * Snapshots against restic (Debian's package) on the same files and disk, both
 * encrypted and compressing: the first backup of a file, a second after 1 %
 * was inserted at 100 places (time and bytes written to the store), the
 * restore of it, the store size for a generated CSV, and the workers' peak
 * memory at BENCH_SIZE and at BENCH_BIG (default 10GiB; 0 skips it).
 *
 * courier runs as many hosts run it, compiled: a control worker (workflows and
 * bookkeeping) and a host-only worker that does the byte work of every job
 * (the messages name its host), each in its own process and measured apart.
 */
const DATA_HOST = 'bench-data';
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { submit, waitForJob } from '../../src/client';
import { loadConfig, type Config } from '../../src/config';
import { sha256File } from '../../test/helpers/files';
import { hostQueue } from '../../src/jobs/keys';
import { buildDist, median, peakRssMiB, rssOncePolling, run, secondsSince, spawnWorker, stopWorker } from './processes';

const MiB = 1024 * 1024;
const ROOT = path.resolve(__dirname, '..', '..');

function bytesUnder(dir: string): number {
  let total = 0;
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) total += fs.statSync(path.join(entry.parentPath, entry.name)).size;
  }
  return total;
}

/** Pseudo-random bytes at disk speed: AES-CTR over zeros, so large files take seconds, not minutes. */
function fastRandomFile(file: string, size: number): void {
  const made = spawnSync('sh', [
    '-c',
    `head -c ${size} /dev/zero | openssl enc -aes-128-ctr -nosalt -pass pass:${randomBytes(8).toString('hex')} > '${file}'`,
  ]);
  if (made.status !== 0) throw new Error(`could not make ${file}: ${made.stderr}`);
}

/** The same file with `share` of its size inserted as random bytes at `places` evenly spread places. */
function withInserts(source: string, dest: string, places: number, share: number): void {
  const data = fs.readFileSync(source);
  const each = Math.floor((data.length * share) / places);
  const out = fs.openSync(dest, 'w');
  let from = 0;
  for (let i = 1; i <= places; i++) {
    const at = Math.floor((i * data.length) / (places + 1));
    fs.writeSync(out, data.subarray(from, at));
    fs.writeSync(out, randomBytes(each));
    from = at;
  }
  fs.writeSync(out, data.subarray(from));
  fs.closeSync(out);
}

function csvFile(file: string, size: number): void {
  const out = fs.openSync(file, 'w');
  let written = 0;
  let row = 0;
  const cities = ['Lisbon', 'Oslo', 'Quito', 'Hanoi', 'Accra', 'Perth', 'Lima', 'Riga'];
  while (written < size) {
    const lines: string[] = [];
    for (let i = 0; i < 50_000; i++, row++) {
      lines.push(
        `${row},customer-${(row * 7919) % 250_000},${cities[row % cities.length]},${((row * 104_729) % 1_000_000) / 100},2026-${String((row % 12) + 1).padStart(2, '0')}-${String((row % 28) + 1).padStart(2, '0')},${row % 3 === 0 ? 'paid' : 'open'}\n`,
      );
    }
    const chunk = Buffer.from(lines.join(''));
    fs.writeSync(out, chunk.subarray(0, Math.min(chunk.length, size - written)));
    written += chunk.length;
  }
  fs.closeSync(out);
}

interface Tools {
  backup(name: string, file: string): Promise<number>;
  restore(name: string, dest: string): Promise<number>;
  storeBytes(): number;
}

function courierTools(client: Client, config: Config): Tools {
  return {
    async backup(name, file) {
      const started = process.hrtime.bigint();
      // A new id per run: the same name and source again is otherwise the same (finished) job.
      await waitForJob(
        client,
        (await submit(client, config, { kind: 'backup', name, source: file, id: `${name}-${Date.now()}`, host: DATA_HOST })).jobId,
      );
      return secondsSince(started);
    },
    async restore(name, dest) {
      const started = process.hrtime.bigint();
      await waitForJob(client, (await submit(client, config, { kind: 'restore', name, dest, host: DATA_HOST })).jobId);
      return secondsSince(started);
    },
    storeBytes: () => bytesUnder(path.join(config.storeDir, 'objects', 'repo')),
  };
}

function resticTools(work: string): { tools: Tools; env: NodeJS.ProcessEnv } {
  const repo = path.join(work, 'restic-repo');
  const env = { ...process.env, RESTIC_REPOSITORY: repo, RESTIC_PASSWORD: 'bench-password', RESTIC_CACHE_DIR: path.join(work, 'restic-cache') };
  return {
    env,
    tools: {
      async backup(_name, file) {
        return (await run('restic', ['backup', '--host', 'bench', '--quiet', file], env)).seconds;
      },
      async restore(_name, dest) {
        return (await run('restic', ['restore', 'latest', '--target', `${dest}.d`], env)).seconds;
      },
      storeBytes: () => bytesUnder(repo),
    },
  };
}

/** Finds the one file restic restored under its target dir (restic recreates the source's absolute path). */
function restoredBy(target: string): string {
  const files = fs.readdirSync(target, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
  if (files.length !== 1) throw new Error(`restic restored ${files.length} files under ${target}`);
  return path.join(files[0]!.parentPath, files[0]!.name);
}

export interface SnapshotBench {
  ratios: string;
}

export async function benchSnapshots(options: {
  work: string;
  env: NodeJS.ProcessEnv;
  size: number;
  bigSize: number;
  /** Restores of each tool (the backups cannot repeat: a second run would find every chunk stored). */
  rounds: number;
}): Promise<SnapshotBench> {
  const probe = spawnSync('restic', ['version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0)
    throw new Error('the snapshots benchmark compares against restic; install it (Debian: `apt-get install restic`)');
  console.log(`reference: ${probe.stdout.trim()}`);
  const work = path.join(options.work, 'snapshots');
  fs.mkdirSync(work, { recursive: true });
  const keyFile = path.join(work, 'repo.key');
  fs.writeFileSync(keyFile, randomBytes(32).toString('base64'));
  const env: NodeJS.ProcessEnv = {
    ...options.env,
    COURIER_DATA_DIR: path.join(work, 'courier-data'),
    COURIER_TASK_QUEUE: 'bench-snapshots',
    COURIER_REPO_KEY_FILE: keyFile,
    COURIER_SOURCE_ROOTS: work,
    COURIER_RESTORE_ROOTS: work,
  };
  const init = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'courier'), 'store', 'init'], { env, encoding: 'utf8' });
  if (init.status !== 0) throw new Error(`courier store init failed: ${init.stderr}`);
  // Compiled, with the prebuilt workflow bundle, as images and hosts run it: webpack at start would set the peak by itself.
  env.COURIER_WORKFLOW_BUNDLE = buildDist().workflowBundle;
  const config = loadConfig(env);
  const { connectClient } = await import('../../src/client');
  const client = await connectClient(config);
  const control = spawnWorker(env, { compiled: true, args: ['--host', 'bench-control'] });
  const worker = spawnWorker(env, { compiled: true, args: ['--host-only', '--host', DATA_HOST] });
  const controlRest = await rssOncePolling(client, config, config.taskQueue, control.pid!);
  const restRss = await rssOncePolling(client, config, hostQueue(DATA_HOST), worker.pid!);
  const restic = resticTools(work);
  await run('restic', ['init'], restic.env);
  const courier = courierTools(client, config);
  const lines: string[] = [];
  const say = (line: string) => {
    console.log(line);
    lines.push(line);
  };
  try {
    const file = path.join(work, 'dump.bin');
    fastRandomFile(file, options.size);
    const v1 = path.join(work, 'dump-v1.bin');
    fs.copyFileSync(file, v1);
    const results: Record<string, { courier: number; restic: number }> = {};
    const both = async (label: string, step: (tools: Tools, who: 'courier' | 'restic') => Promise<number>) => {
      // Alternate who goes first by label, so neither always meets the warmer page cache.
      const order = Object.keys(results).length % 2 === 0 ? (['courier', 'restic'] as const) : (['restic', 'courier'] as const);
      const got = { courier: 0, restic: 0 };
      for (const who of order) {
        // Each starts with nothing of the other's left to write back: restic does not fsync, and its dirty pages would slow courier's fsync.
        spawnSync('sync');
        got[who] = await step(who === 'courier' ? courier : restic.tools, who);
      }
      results[label] = got;
      return got;
    };
    const written = async (tools: Tools, work: () => Promise<number>) => {
      const before = tools.storeBytes();
      const seconds = await work();
      return { seconds, bytes: tools.storeBytes() - before };
    };

    const bytes: Record<string, { courier: number; restic: number }> = {
      first: { courier: 0, restic: 0 },
      second: { courier: 0, restic: 0 },
      csv: { courier: 0, restic: 0 },
    };
    await both('first backup', async (tools, who) => {
      const r = await written(tools, () => tools.backup('dump', file));
      bytes.first![who] = r.bytes;
      return r.seconds;
    });
    withInserts(v1, file, 100, 0.01);
    const size2 = fs.statSync(file).size;
    await both('second backup (1 % inserted at 100 places)', async (tools, who) => {
      const r = await written(tools, () => tools.backup('dump', file));
      bytes.second![who] = r.bytes;
      return r.seconds;
    });
    const expected = await sha256File(file);
    // Restores repeat without changing the store: rounds alternate who goes first, and the medians are compared (one run varies by a third here).
    const restores = { courier: [] as number[], restic: [] as number[] };
    const restoreLabel = `restore (median of ${options.rounds})`;
    for (let round = 1; round <= options.rounds; round++) {
      const order = round % 2 === 1 ? (['courier', 'restic'] as const) : (['restic', 'courier'] as const);
      for (const who of order) {
        spawnSync('sync');
        const dest = path.join(work, `restored-${who}.bin`);
        restores[who].push(await (who === 'courier' ? courier : restic.tools).restore('dump', dest));
        const got = who === 'courier' ? dest : restoredBy(`${dest}.d`);
        if ((await sha256File(got)) !== expected) throw new Error(`${who}'s restore differs from the source`);
        fs.rmSync(who === 'courier' ? dest : `${dest}.d`, { recursive: true, force: true });
      }
      console.log(
        `restore round ${round}/${options.rounds}: courier ${restores.courier.at(-1)!.toFixed(2)}s, restic ${restores.restic.at(-1)!.toFixed(2)}s`,
      );
    }
    results[restoreLabel] = { courier: median(restores.courier), restic: median(restores.restic) };
    const rssAtSize = peakRssMiB(worker.pid);

    const csv = path.join(work, 'table.csv');
    csvFile(csv, options.size);
    await both('CSV backup', async (tools, who) => {
      const r = await written(tools, () => tools.backup('table', csv));
      bytes.csv![who] = r.bytes;
      return r.seconds;
    });
    fs.rmSync(csv);
    fs.rmSync(v1);

    const MiBs = (n: number) => `${(n / MiB).toFixed(1)} MiB`;
    say(`\nsnapshots, ${MiBs(options.size)} file         courier   restic`);
    for (const [label, r] of Object.entries(results))
      say(`${label.padEnd(44)}${r.courier.toFixed(2).padStart(7)}s${r.restic.toFixed(2).padStart(8)}s`);
    for (const [label, b] of Object.entries(bytes))
      say(`bytes written: ${label.padEnd(30)}${MiBs(b.courier).padStart(12)}${MiBs(b.restic).padStart(12)}`);
    say(
      `second backup wrote ${((100 * bytes.second!.courier) / size2).toFixed(2)} % of the file (restic ${((100 * bytes.second!.restic) / size2).toFixed(2)} %)`,
    );

    let rssBig: number | undefined;
    if (options.bigSize > 0) {
      fs.rmSync(file);
      const big = path.join(work, 'big.bin');
      fastRandomFile(big, options.bigSize);
      const seconds = await courier.backup('big', big);
      const dest = path.join(work, 'big.out');
      const back = await courier.restore('big', dest);
      rssBig = peakRssMiB(worker.pid);
      say(`${MiBs(options.bigSize)}: courier backup ${seconds.toFixed(1)}s, restore ${back.toFixed(1)}s`);
      fs.rmSync(big);
      fs.rmSync(dest);
    }
    say(
      `host worker RSS (the byte work): ${restRss.toFixed(0)} MiB at rest; peak ${rssAtSize?.toFixed(0)} MiB after ${MiBs(options.size)}${rssBig ? `, ${rssBig.toFixed(0)} MiB after ${MiBs(options.bigSize)}` : ''}`,
    );
    say(`control worker RSS (workflows): ${controlRest.toFixed(0)} MiB at rest; peak ${peakRssMiB(control.pid)?.toFixed(0)} MiB`);
    const r = (a: number, b: number) => (b > 0 ? (a / b).toFixed(2) : 'n/a');
    const ratios =
      `ratio snap_backup=${r(results['first backup']!.courier, results['first backup']!.restic)} ` +
      `snap_backup2=${r(results['second backup (1 % inserted at 100 places)']!.courier, results['second backup (1 % inserted at 100 places)']!.restic)} ` +
      `snap_restore=${r(results[restoreLabel]!.courier, results[restoreLabel]!.restic)} ` +
      `snap_bytes2=${r(bytes.second!.courier, bytes.second!.restic)} ` +
      `snap_csv_store=${r(bytes.csv!.courier, bytes.csv!.restic)}`;
    return { ratios };
  } finally {
    await Promise.all([stopWorker(worker), stopWorker(control)]);
    await client.connection.close();
  }
}
