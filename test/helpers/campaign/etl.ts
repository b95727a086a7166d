import fs from 'node:fs/promises';
import path from 'node:path';
import { COLUMNS, csv, dropTables, MARIADB_URL, PG_URL, pgQuery, rowsIn, uniqueTable, writePipelines, type OrderRow } from '../etl';
import type { Cluster } from './cluster';
import { killStepWorker, outcomeOf, progressOf, stallAfterKill, startInstallation } from './installation';
import type { ScenarioReport } from './report';
import { startTcpProxy } from './tcp-proxy';

type EtlPoint = 'extract' | 'transform' | 'load';

const through = (url: string, port: number) => {
  const parsed = new URL(url);
  parsed.port = String(port);
  return parsed.toString();
};

/**
 * ETL runs into PostgreSQL, MariaDB and SQLite with workers killed during
 * extract, transform and loads; then a run during which PostgreSQL and
 * MariaDB are unreachable for `dbOutageS` seconds. Every record must end up
 * in every database exactly once.
 */
export async function etlWithFaults(
  cluster: Cluster,
  runs: number,
  records: number,
  dbOutageS: number,
  random: () => number,
): Promise<ScenarioReport[]> {
  const pgProxy = await startTcpProxy('127.0.0.1', Number(new URL(PG_URL).port));
  const mariaProxy = await startTcpProxy('127.0.0.1', Number(new URL(MARIADB_URL).port));
  const table = uniqueTable('campaign');
  const root = path.join(cluster.base, 'etl');
  await writePipelines(root, {
    locations: {
      pg: { kind: 'postgres', url: through(PG_URL, pgProxy.port) },
      maria: { kind: 'mariadb', url: through(MARIADB_URL, mariaProxy.port) },
      local: { kind: 'sqlite', path: 'db/etl.sqlite' },
    },
    pipelines: { orders: { columns: COLUMNS, key: ['id'], table, batchSize: 25, locations: ['pg', 'maria', 'local'] } },
  });
  const installation = await startInstallation(cluster, 'etl', { COURIER_ETL_ROOT: root });
  const kills: ScenarioReport = { scenario: 'etl, kills', completed: 0, total: 0, kills: 0, crashes: [], failures: [] };
  const outage: ScenarioReport = { scenario: `etl, databases down ${dbOutageS} s`, completed: 0, total: 0, kills: 0, crashes: [], failures: [] };
  const all: OrderRow[] = [];
  const stalls: { seconds: number; point: string }[] = [];
  const rowsOf = async (from: number, to: number) =>
    Number((await pgQuery<{ n: string }>(`SELECT count(*) AS n FROM "${table}" WHERE id BETWEEN ${from} AND ${to}`).catch(() => [{ n: '0' }]))[0]!.n);

  const run = async (i: number, report: ScenarioReport, during: (jobId: string, from: number, to: number) => Promise<void>) => {
    const from = i * records + 1;
    const batch: OrderRow[] = Array.from({ length: records }, (_, k) => ({
      id: from + k,
      customer: `customer-${from + k}`,
      amount: (from + k) % 97,
      paid: k % 2 === 0,
    }));
    const file = path.join(installation.files, `orders-${i}.csv`);
    await fs.writeFile(file, csv(batch.map((r) => [r.id, r.customer, r.amount, r.paid ? 'yes' : 'no'])));
    all.push(...batch);
    report.total++;
    const jobId = await installation.submit({ kind: 'etl', pipeline: 'orders', source: file });
    await during(jobId, from, from + records - 1);
    const outcome = await outcomeOf(installation.client, jobId, 20 * 60_000);
    if (outcome.error) report.failures.push(`etl run ${i}: ${outcome.error}`);
    else report.completed++;
  };

  try {
    for (let i = 0; i < runs; i++) {
      const points: EtlPoint[] = ['extract', 'transform', 'load'];
      const chosen = [...new Set(Array.from({ length: 1 + Math.floor(random() * 2) }, () => points[Math.floor(random() * 3)]!))].sort(
        (a, b) => points.indexOf(a) - points.indexOf(b),
      );
      await run(i, kills, async (jobId, from, to) => {
        for (const point of chosen) {
          const deadline = Date.now() + 120_000;
          for (;;) {
            if (Date.now() > deadline) return void kills.failures.push(`run ${i}: kill point ${point} not reached`);
            const progress = await progressOf(installation.client, jobId);
            const loaded = await rowsOf(from, to);
            const reached =
              point === 'extract'
                ? progress?.phase === 'extract'
                : point === 'transform'
                  ? progress?.phase === 'transform' && loaded === 0
                  : loaded > 0 && loaded < records;
            if (reached) break;
            if (loaded >= records) return void kills.failures.push(`run ${i}: kill point ${point} passed`);
            await new Promise((resolve) => setTimeout(resolve, 40));
          }
          if (point === 'load') await new Promise((resolve) => setTimeout(resolve, random() * 500));
          const { atKill, killedAt } = await killStepWorker(installation, jobId);
          kills.kills++;
          const loaded = async () => String(await rowsOf(from, to));
          const other = { atKill: await loaded(), now: loaded };
          stalls.push({ seconds: await stallAfterKill(installation.client, jobId, atKill, killedAt, 10 * 60_000, other), point });
        }
      });
    }
    if (dbOutageS > 0)
      await run(runs, outage, async (_jobId, from, to) => {
        const deadline = Date.now() + 120_000;
        while (Date.now() < deadline && (await rowsOf(from, to)) === 0) await new Promise((resolve) => setTimeout(resolve, 40));
        pgProxy.cut();
        mariaProxy.cut();
        await new Promise((resolve) => setTimeout(resolve, dbOutageS * 1000));
        pgProxy.restore();
        mariaProxy.restore();
      });
    const found = await rowsIn({ pg: table, maria: table, sqlite: { file: path.join(root, 'db', 'etl.sqlite'), table } });
    const expected = JSON.stringify(all);
    const exact = [found.pg, found.maria, found.sqlite].every((rows) => JSON.stringify(rows) === expected);
    const rows = (found.pg?.length ?? 0) + (found.maria?.length ?? 0) + (found.sqlite?.length ?? 0);
    for (const report of [kills, outage]) report.rowsExactlyOnce = { exact, rows, expected: all.length * 3 };
    if (!exact) {
      const want = new Set(all.map((r) => r.id));
      for (const [db, found_] of Object.entries(found)) {
        const ids = (found_ ?? []).map((r) => r.id);
        const missing = [...want].filter((id) => !ids.includes(id));
        const twice = ids.filter((id, i) => ids.indexOf(id) !== i);
        kills.notes = [
          ...(kills.notes ?? []),
          `${db}: ${ids.length} rows, missing ${missing.length} (${missing.slice(0, 5).join(', ')}…), twice ${twice.length}`,
        ];
      }
    }
  } finally {
    await installation.stop();
    await pgProxy.close();
    await mariaProxy.close();
    await dropTables([table]);
  }
  kills.longestStallS = stalls.length ? Math.max(...stalls.map((s) => s.seconds)) : undefined;
  kills.notes = [...(kills.notes ?? []), `stalls by kill point: ${stalls.map((s) => `${s.point} ${s.seconds.toFixed(1)} s`).join(', ')}`];
  kills.crashes = installation.workers.crashes;
  return dbOutageS > 0 ? [kills, outage] : [kills];
}
