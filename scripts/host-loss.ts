/**
 * `npm run bench:host-loss`: how long a backup takes to get going again after
 * its host is killed, and how many bytes it sends twice. Three worker
 * processes (hosts with their own disks), one dev server, versitygw behind a
 * counting proxy that caps uploads at HOST_LOSS_RATE, so the kill lands mid-upload.
 * Each round backs up a file with no host named, SIGKILLs the pinned host once
 * a few parts are stored, waits for the job to finish elsewhere, and brings the host back.
 *
 *   HOST_LOSS_ROUNDS   kills (default 5)
 *   HOST_LOSS_SIZE     file size (default 40MiB; 1 MiB parts, one in flight)
 *   HOST_LOSS_RATE     upload cap in bytes/s (default 12MiB)
 *
 * Recovery is measured from the kill to the status-log line that says the
 * file steps run on another host. It is bounded by the settings used here:
 * COURIER_HEARTBEAT_TIMEOUT (3 s) until the dead step times out, the retry's
 * 1 s back-off, COURIER_HOST_TIMEOUT (4 s) until the host counts as lost; then
 * the new host checks the source again.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connectClient, getJob, submit, waitForJob } from '../src/client';
import { loadConfig, parseSize } from '../src/config';
import { startDevServerOnFreePort } from '../src/dev-server/dev-server';
import type { BackupResult } from '../src/kinds/backup/contract';
import { randomFile } from '../test/helpers/files';
import { countingProxy, testHost } from '../test/helpers/hosts';
import { waitUntil } from '../test/helpers/stack';
import { startS3Server } from '../test/helpers/s3-server';
import { median } from './bench/processes';

const MiB = 1024 * 1024;
async function main(): Promise<void> {
  const rounds = Number(process.env.HOST_LOSS_ROUNDS ?? 5);
  const size = parseSize(process.env.HOST_LOSS_SIZE ?? '40MiB');
  const rate = parseSize(process.env.HOST_LOSS_RATE ?? '12MiB');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'courier-host-loss-'));
  const server = await startDevServerOnFreePort({
    headless: true,
    dbFile: path.join(work, 'temporal.db'),
    logFile: path.join(work, 'temporal.log'),
  });
  const s3 = await startS3Server();
  await s3.createBucket('loss');
  const proxy = await countingProxy(s3.endpoint, rate);
  const env: Record<string, string> = {
    ...s3.envFor('loss'),
    AWS_ENDPOINT_URL: proxy.endpoint,
    TEMPORAL_ADDRESS: server.address,
    COURIER_TASK_QUEUE: 'host-loss',
    COURIER_PART_SIZE: '1MiB',
    COURIER_CONCURRENCY: '1',
    COURIER_HEARTBEAT_TIMEOUT: '3s',
    COURIER_HOST_TIMEOUT: '4s',
    COURIER_LOG_LEVEL: 'warn',
  };
  const config = loadConfig({ ...process.env, ...env });
  const client = await connectClient(config);
  const hosts = ['a', 'b', 'c'].map((name) => testHost(client, `loss-${name}`, work, env));
  try {
    await Promise.all(hosts.map((h) => h.start()));
    const source = await randomFile(work, 'source.bin', size);
    // What a backup sends beyond the file's bytes with no kill (headers, HEADs, the manifest): subtracted from each round.
    const baselineBefore = proxy.sent;
    await waitForJob(client, (await submit(client, config, { kind: 'backup', name: 'loss-baseline', source })).jobId);
    const overhead = proxy.sent - baselineBefore - size;
    console.log(`no kill: ${(overhead / 1024).toFixed(0)} KiB sent beyond the file (requests, manifest); subtracted below`);
    const recoveries: number[] = [];
    const resent: number[] = [];
    console.log(`round  killed   moved to  recovery s  finished s  re-sent MiB`);
    for (let round = 1; round <= rounds; round++) {
      const before = proxy.sent;
      const { jobId } = await submit(client, config, { kind: 'backup', name: `loss-${round}`, source });
      const victim = await waitUntil('a few parts stored', async () => {
        const view = await getJob(client, jobId);
        return view.progress?.kind === 'backup' && view.progress.phase === 'upload' && view.progress.partsDone >= 4 && view.host;
      });
      const host = hosts.find((h) => h.name === victim)!;
      await host.kill();
      const killedAt = Date.now();
      const result = (await waitForJob(client, jobId)) as BackupResult;
      const finished = (Date.now() - killedAt) / 1000;
      const log = (await getJob(client, jobId)).statusLog ?? [];
      const moved = log.find((e) => /^file steps now run on host /.test(e.note ?? ''));
      if (!moved || !result.hostsLost?.includes(victim)) throw new Error(`round ${round}: the job did not say it moved: ${JSON.stringify(log)}`);
      const recovery = (new Date(moved.at).getTime() - killedAt) / 1000;
      const extra = (proxy.sent - before - size - overhead) / MiB;
      recoveries.push(recovery);
      resent.push(extra);
      console.log(
        `${String(round).padEnd(7)}${victim.padEnd(9)}${String(result.host).padEnd(10)}${recovery.toFixed(1).padStart(10)}${finished.toFixed(1).padStart(12)}${extra.toFixed(2).padStart(13)}`,
      );
      await host.start();
    }
    console.log(
      `median recovery ${median(recoveries).toFixed(1)} s, median re-sent ${median(resent).toFixed(2)} MiB per kill (max ${Math.max(...resent).toFixed(2)} MiB; a part is 1 MiB)`,
    );
  } finally {
    await Promise.all(hosts.map((h) => h.kill()));
    await client.connection.close();
    await proxy.close();
    await s3.stop();
    await server.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    console.error(`host-loss measurement failed: ${err.message}`);
    process.exit(1);
  },
);
