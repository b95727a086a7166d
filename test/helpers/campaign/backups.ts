import { watch } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { FaultProxy } from '../fault-proxy';
import { randomFile, sha256File } from '../files';
import { storedTwice } from '../repository';
import type { S3Server } from '../s3-server';
import type { Cluster } from './cluster';
import { HEARTBEAT_S, killStepWorker, outcomeOf, progressOf, stallAfterKill, startInstallation, type Installation } from './installation';
import type { ScenarioReport } from './report';

const MiB = 1024 * 1024;

/** Where in a backup and its restore a worker is killed. */
type KillPoint =
  'prepare' | 'split' | 'upload' | 'complete' | 'manifest' | 'cleanup' | 'restore prepare' | 'restore download' | 'restore verify and rename';

const CHUNK_POINTS: KillPoint[] = ['prepare', 'upload', 'manifest', 'restore prepare', 'restore download', 'restore verify and rename'];
const OBJECT_POINTS: KillPoint[] = [
  'prepare',
  'split',
  'upload',
  'complete',
  'manifest',
  'cleanup',
  'restore prepare',
  'restore download',
  'restore verify and rename',
];

/** The progress phase a kill point is seen in. */
const PHASE: Record<KillPoint, string> = {
  prepare: 'prepare',
  split: 'split',
  upload: 'upload',
  complete: 'manifest',
  manifest: 'manifest',
  cleanup: 'manifest',
  'restore prepare': 'prepare',
  'restore download': 'download',
  'restore verify and rename': 'verify',
};

export interface Store {
  label: string;
  layout: 'chunks' | 'object';
  settings: Record<string, string>;
  /** The S3 fault proxy in front of it; none for the fs store. */
  proxy?: FaultProxy;
}

export function campaignStores(s3: S3Server, proxy: FaultProxy): Store[] {
  const viaProxy = (bucket: string) => ({ ...s3.envFor(bucket), AWS_ENDPOINT_URL: proxy.endpoint });
  return [
    { label: 'fs', layout: 'chunks', settings: { COURIER_PART_SIZE: '4MiB' } },
    { label: 's3 chunks', layout: 'chunks', settings: { ...viaProxy('campaign-chunks'), COURIER_PART_SIZE: '4MiB' }, proxy },
    {
      label: 's3 object',
      layout: 'object',
      settings: { ...viaProxy('campaign-object'), COURIER_S3_LAYOUT: 'object', COURIER_PART_SIZE: '5MiB' },
      proxy,
    },
  ];
}

/**
 * Watches an installation's staging for part files that disappear, and counts
 * those whose upload the server had not yet acknowledged with its checksum
 * (through the proxy, which sees the answer before the worker does).
 */
async function watchStagedDeletions(
  stagingRoot: string,
  acknowledged: Map<string, number>,
): Promise<{ early: number; deleted: number; close(): void }> {
  await fs.mkdir(stagingRoot, { recursive: true });
  const seen = { early: 0, deleted: 0, close: () => watcher.close() };
  const watcher = watch(stagingRoot, { recursive: true }, (_event, file) => {
    const part = /part-(\d{6})$/.exec(String(file ?? ''));
    if (!part) return;
    const at = Date.now();
    fs.stat(path.join(stagingRoot, String(file))).catch(() => {
      seen.deleted++;
      const ack = acknowledged.get(String(Number(part[1]) + 1));
      if (ack === undefined || ack > at) seen.early++;
    });
  });
  // Node's recursive watch on Linux rescans directories as they come and go, and reports one removed under it as an error.
  watcher.on('error', () => undefined);
  return seen;
}

interface Tally {
  kills: number;
  stalls: { seconds: number; point: string }[];
  missed: string[];
}

/**
 * Brings the job to the kill point and SIGKILLs the worker running its step.
 * Short S3 steps are held at the proxy so the kill lands inside them; others
 * are caught by polling the job's phase, then killed after a random pause.
 */
async function killAt(installation: Installation, store: Store, jobId: string, point: KillPoint, random: () => number, tally: Tally): Promise<void> {
  const { client } = installation;
  const proxy = store.proxy;
  const hang: ((method: string, url: string) => boolean) | undefined = !proxy
    ? undefined
    : point === 'manifest'
      ? (method, url) => method === 'PUT' && url.includes('/snapshots/')
      : point === 'complete'
        ? (method, url) => method === 'POST' && url.includes('uploadId=')
        : point === 'prepare' && store.layout === 'chunks'
          ? (method, url) => method === 'PUT' && url.includes('/pending/')
          : undefined;
  let snapshotWritten = false;
  const written = (method: string, url: string, status: number) =>
    void (method === 'PUT' && url.includes('/snapshots/') && status === 200 && (snapshotWritten = true));
  if (proxy && point === 'cleanup') proxy.forwarded.add(written);
  const heldBefore = proxy?.injected.hang ?? 0;
  if (proxy && hang) proxy.faults.hang = hang;
  const deadline = Date.now() + 120_000;
  let killed: Awaited<ReturnType<typeof killStepWorker>>;
  try {
    for (;;) {
      if (Date.now() > deadline) return void tally.missed.push(`${point}: not reached in 120 s`);
      const described = await client.workflow
        .getHandle(jobId)
        .describe()
        .catch(() => undefined);
      if (described && described.status.name !== 'RUNNING') return void tally.missed.push(`${point}: the job ended first`);
      const progress = await progressOf(client, jobId);
      if (hang ? proxy!.injected.hang > heldBefore : point === 'cleanup' ? snapshotWritten : progress?.phase === PHASE[point]) {
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 40));
    }
    // Inside a long phase, a random moment of it.
    if (point === 'upload' || point === 'restore download') await new Promise((resolve) => setTimeout(resolve, random() * 800));
    killed = await killStepWorker(installation, jobId);
  } finally {
    if (proxy) {
      proxy.faults.hang = undefined;
      proxy.forwarded.delete(written);
    }
  }
  const { atKill, killedAt } = killed;
  tally.kills++;
  tally.stalls.push({ seconds: await stallAfterKill(client, jobId, atKill, killedAt, 10 * 60_000), point });
}

/**
 * Backups and restores of mixed sizes over the fs store and both S3 layouts,
 * each pair with one to three kills at random points of random phases.
 */
export async function backupsWithKills(
  cluster: Cluster,
  stores: Store[],
  jobs: number,
  sizes: number[],
  random: () => number,
): Promise<ScenarioReport[]> {
  const reports: ScenarioReport[] = [];
  for (const [s, store] of stores.entries()) {
    const installation = await startInstallation(cluster, `kills-${s}`, store.settings);
    const report: ScenarioReport = {
      scenario: `kills, ${store.label}`,
      completed: 0,
      total: 0,
      kills: 0,
      partsResent: 0,
      bytesResent: 0,
      identical: { same: 0, of: 0 },
      deletedBeforeVerify: 0,
      crashes: [],
      failures: [],
    };
    const tally: Tally = { kills: 0, stalls: [], missed: [] };
    let stagedDeleted = 0;
    const partSize = store.layout === 'object' ? 5 * MiB : 4 * MiB;
    try {
      for (let j = s; j < jobs; j += stores.length) {
        const size = Math.floor(sizes[Math.floor(random() * sizes.length)]! * MiB + random() * 4096);
        const name = `campaign-${s}-${j}`;
        const source = await randomFile(installation.files, name, size);
        const points = store.layout === 'object' ? OBJECT_POINTS : CHUNK_POINTS;
        const count = 1 + Math.floor(random() * 3);
        const chosen = [...new Set(Array.from({ length: count }, () => points[Math.floor(random() * points.length)]!))].sort(
          (a, b) => points.indexOf(a) - points.indexOf(b),
        );
        const twiceBefore = store.layout === 'chunks' ? (await storedTwice(installation.config)).bytes : 0;
        const uploads = new Map<string, number>();
        const acknowledged = new Map<string, number>();
        const countUploads = (method: string, url: string, status: number) => {
          const part = /[?&]partNumber=(\d+)/.exec(url)?.[1];
          if (method !== 'PUT' || !part || status !== 200) return;
          uploads.set(part, (uploads.get(part) ?? 0) + 1);
          if (!acknowledged.has(part)) acknowledged.set(part, Date.now());
        };
        const deletions = store.layout === 'object' ? await watchStagedDeletions(installation.config.stagingDir, acknowledged) : undefined;
        report.total++;
        store.proxy?.forwarded.add(countUploads);
        const backupId = await installation.submit({ kind: 'backup', name, source });
        for (const point of chosen.filter((p) => !p.startsWith('restore'))) await killAt(installation, store, backupId, point, random, tally);
        const backup = await outcomeOf(installation.client, backupId, 10 * 60_000);
        store.proxy?.forwarded.delete(countUploads);
        deletions?.close();
        report.deletedBeforeVerify! += deletions?.early ?? 0;
        stagedDeleted += deletions?.deleted ?? 0;
        if (backup.error) {
          report.failures.push(`backup ${name} (${chosen.join(', ')}): ${backup.error}`);
          continue;
        }
        if (store.layout === 'chunks') {
          const twice = (await storedTwice(installation.config)).bytes - twiceBefore;
          report.bytesResent! += twice;
          report.partsResent! += Math.ceil(twice / partSize);
        } else {
          const again = [...uploads.values()].reduce((sum, n) => sum + n - 1, 0);
          report.partsResent! += again;
          report.bytesResent! += again * partSize;
        }
        const dest = path.join(installation.files, `${name}.restored`);
        const restoreId = await installation.submit({ kind: 'restore', name, dest });
        for (const point of chosen.filter((p) => p.startsWith('restore'))) await killAt(installation, store, restoreId, point, random, tally);
        const restore = await outcomeOf(installation.client, restoreId, 10 * 60_000);
        if (restore.error) {
          report.failures.push(`restore ${name} (${chosen.join(', ')}): ${restore.error}`);
          continue;
        }
        report.completed++;
        report.identical!.of++;
        if ((await sha256File(dest)) === (await sha256File(source))) report.identical!.same++;
      }
    } finally {
      await installation.stop();
    }
    report.kills = tally.kills;
    const longest = tally.stalls.sort((a, b) => b.seconds - a.seconds)[0];
    report.longestStallS = longest?.seconds;
    report.notes = [`stalls by kill point: ${tally.stalls.map((s) => `${s.point} ${s.seconds.toFixed(1)} s`).join(', ')}`];
    if (store.layout === 'object')
      report.notes.push(`staged parts seen deleted: ${stagedDeleted}, before the server acknowledged them: ${report.deletedBeforeVerify}`);
    report.crashes = installation.workers.crashes;
    if (tally.missed.length) report.failures.push(...tally.missed.map((m) => `kill point missed, ${m}`));
    reports.push(report);
  }
  return reports;
}

export const STALL_TARGET_S = HEARTBEAT_S + 10;
