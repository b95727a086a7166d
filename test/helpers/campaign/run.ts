import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startFaultProxy } from '../fault-proxy';
import { startS3Server } from '../s3-server';
import { backupsWithKills, campaignStores, STALL_TARGET_S } from './backups';
import { startCluster } from './cluster';
import { etlWithFaults } from './etl';
import { flakyStore, serverRestarts } from './outages';
import { formatReports, missedTargets, type ScenarioReport } from './report';

/** How much of each fault the campaign injects. */
export interface Scale {
  backups: number;
  sizesMiB: number[];
  etlRuns: number;
  etlRecords: number;
  serverRestarts: number;
  restartSizeMiB: number;
  flakyS: number;
  storeOutageS: number;
  dbOutageS: number;
  seed: number;
}

/** The campaign: 20 backups and restores, 10 ETL runs, 5 server restarts, a flaky S3, a 10-minute store outage, databases down a minute. */
export const FULL: Scale = {
  backups: 20,
  sizesMiB: [1, 12, 48, 160],
  etlRuns: 10,
  etlRecords: 2000,
  serverRestarts: 5,
  restartSizeMiB: 256,
  flakyS: 60,
  storeOutageS: 600,
  dbOutageS: 60,
  seed: Date.now() % 100_000,
};

/** Small, seeded pseudo-random numbers, so a failing campaign can be run again as it was (FAULTS_SEED). */
export function seeded(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

export interface CampaignOutcome {
  reports: ScenarioReport[];
  table: string;
  missed: string[];
}

/** Runs every scenario against its own dev server, S3 server and fault proxy; `only` picks scenarios by name. */
export async function runCampaign(scale: Scale, log: (line: string) => void, only?: string[]): Promise<CampaignOutcome> {
  const base = await fs.mkdtemp(path.join(process.env.COURIER_TEST_TMP ?? os.tmpdir(), 'campaign-'));
  const random = seeded(scale.seed);
  const cluster = await startCluster(base, log);
  const s3 = await startS3Server();
  const proxy = await startFaultProxy(s3.endpoint, {}, random);
  const reports: ScenarioReport[] = [];
  const wanted = (name: string) => !only || only.includes(name);
  try {
    for (const bucket of ['campaign-chunks', 'campaign-object']) await s3.createBucket(bucket);
    const stores = campaignStores(s3, proxy);
    if (wanted('kills')) {
      log(`kills: ${scale.backups} backups and restores (seed ${scale.seed})`);
      reports.push(...(await backupsWithKills(cluster, stores, scale.backups, scale.sizesMiB, random)));
    }
    if (wanted('etl')) {
      log(`etl: ${scale.etlRuns} runs with kills, then databases down ${scale.dbOutageS} s`);
      reports.push(...(await etlWithFaults(cluster, scale.etlRuns, scale.etlRecords, scale.dbOutageS, random)));
    }
    if (wanted('restarts')) {
      log(`restarts: the dev server killed ${scale.serverRestarts} times`);
      reports.push(await serverRestarts(cluster, scale.serverRestarts, scale.restartSizeMiB));
    }
    if (wanted('store')) {
      log(`store: S3 failing for ${scale.flakyS} s, then down ${scale.storeOutageS} s`);
      reports.push(...(await flakyStore(cluster, stores[1]!, scale.flakyS, scale.storeOutageS, scale.sizesMiB.at(-1)!)));
    }
  } finally {
    await proxy.close();
    await s3.stop();
    await cluster.stop();
  }
  await fs.rm(base, { recursive: true, force: true });
  const targets = { maxStallS: STALL_TARGET_S };
  return { reports, table: formatReports(reports), missed: reports.flatMap((r) => missedTargets(r, targets).map((m) => `${r.scenario}: ${m}`)) };
}
