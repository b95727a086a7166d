import path from 'node:path';
import { randomFile, sha256File } from '../files';
import type { Cluster } from './cluster';
import { outcomeOf, progressOf, stallAfterKill, startInstallation, type Installation } from './installation';
import type { Store } from './backups';
import type { ScenarioReport } from './report';

const MiB = 1024 * 1024;

/** A backup and its restore, checked byte for byte; `during` runs while the backup does. */
async function roundTrip(
  installation: Installation,
  name: string,
  sizeMiB: number,
  report: ScenarioReport,
  during: (jobId: string) => Promise<void> = async () => undefined,
): Promise<void> {
  const source = await randomFile(installation.files, name, sizeMiB * MiB + 123);
  report.total++;
  const backupId = await installation.submit({ kind: 'backup', name, source });
  await during(backupId);
  const backup = await outcomeOf(installation.client, backupId, 20 * 60_000);
  if (backup.error) return void report.failures.push(`backup ${name}: ${backup.error}`);
  const dest = path.join(installation.files, `${name}.restored`);
  const restore = await outcomeOf(installation.client, await installation.submit({ kind: 'restore', name, dest }), 20 * 60_000);
  if (restore.error) return void report.failures.push(`restore ${name}: ${restore.error}`);
  report.completed++;
  report.identical!.of++;
  if ((await sha256File(dest)) === (await sha256File(source))) report.identical!.same++;
}

/** Waits until the job is uploading, then a little longer, so what follows lands mid-job. */
async function midUpload(installation: Installation, jobId: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const progress = await progressOf(installation.client, jobId);
    if (progress?.phase === 'upload' && 'partsDone' in progress && progress.partsDone >= 1) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const emptyReport = (scenario: string): ScenarioReport => ({
  scenario,
  completed: 0,
  total: 0,
  kills: 0,
  identical: { same: 0, of: 0 },
  crashes: [],
  failures: [],
});

/** The Temporal dev server SIGKILLed in the middle of a backup and started again, `restarts` times. */
export async function serverRestarts(cluster: Cluster, restarts: number, sizeMiB: number): Promise<ScenarioReport> {
  const report = emptyReport('dev server killed and restarted');
  const installation = await startInstallation(cluster, 'restarts', { COURIER_PART_SIZE: '4MiB' });
  const stalls: number[] = [];
  try {
    for (let i = 0; i < restarts; i++) {
      await roundTrip(installation, `restart-${i}`, sizeMiB, report, async (jobId) => {
        await midUpload(installation, jobId);
        const atKill = await progressOf(installation.client, jobId);
        const killedAt = Date.now();
        await cluster.restartServer(2000);
        stalls.push(await stallAfterKill(installation.client, jobId, atKill, killedAt, 10 * 60_000));
      });
    }
  } finally {
    await installation.stop();
  }
  report.longestStallS = stalls.length ? Math.max(...stalls) : undefined;
  report.crashes = installation.workers.crashes;
  return report;
}

/**
 * The S3 server behind the fault proxy failing a share of requests for a
 * while (5xx, resets, slow and truncated answers), then down altogether for
 * `outageS` seconds in the middle of a backup.
 */
export async function flakyStore(cluster: Cluster, store: Store, flakyS: number, outageS: number, sizeMiB: number): Promise<ScenarioReport[]> {
  const proxy = store.proxy!;
  const flaky = emptyReport(`S3 failing 20 % of requests for ${flakyS} s`);
  const installation = await startInstallation(cluster, `flaky-${store.layout}`, store.settings);
  const outage = emptyReport(`S3 down for ${outageS} s`);
  try {
    proxy.faults.failRate = 0.2;
    const until = Date.now() + flakyS * 1000;
    for (let i = 0; Date.now() < until || i === 0; i++) await roundTrip(installation, `flaky-${i}`, sizeMiB, flaky);
    proxy.faults.failRate = 0;
    flaky.notes = [
      `faults injected: ${Object.entries(proxy.injected)
        .map(([kind, n]) => `${kind} ${n}`)
        .join(', ')} of ${proxy.requests} requests`,
    ];
    await roundTrip(installation, 'outage', sizeMiB, outage, async (jobId) => {
      await midUpload(installation, jobId);
      proxy.faults.outage = true;
      await new Promise((resolve) => setTimeout(resolve, outageS * 1000));
      proxy.faults.outage = false;
    });
  } finally {
    proxy.faults.failRate = 0;
    proxy.faults.outage = false;
    await installation.stop();
  }
  flaky.crashes = installation.workers.crashes;
  return [flaky, outage];
}
