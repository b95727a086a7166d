/** One scenario's numbers, as the campaign prints them and checks them against the targets. */
export interface ScenarioReport {
  scenario: string;
  completed: number;
  total: number;
  kills: number;
  /** Store parts (segments, object parts) sent again because of the kills, and their bytes. */
  partsResent?: number;
  bytesResent?: number;
  longestStallS?: number;
  identical?: { same: number; of: number };
  rowsExactlyOnce?: { exact: boolean; rows: number; expected: number };
  /** Staged parts deleted before the server had answered their upload with its checksum (object layout, watched with inotify). */
  deletedBeforeVerify?: number;
  crashes: string[];
  failures: string[];
  notes?: string[];
}

export interface Targets {
  /** Longest acceptable stall after a kill or restart, in seconds. */
  maxStallS: number;
}

/** Every way the report misses the targets; empty when it meets them all. */
export function missedTargets(report: ScenarioReport, targets: Targets): string[] {
  const missed: string[] = [];
  if (report.completed !== report.total)
    missed.push(`${report.total - report.completed} of ${report.total} jobs did not complete: ${report.failures.join('; ')}`);
  if (report.kills > 0 && report.partsResent !== undefined && report.partsResent > report.kills)
    missed.push(`${report.partsResent} parts re-sent for ${report.kills} kills (target ≤ 1 per kill)`);
  if (report.longestStallS !== undefined && report.longestStallS > targets.maxStallS)
    missed.push(`a stall of ${report.longestStallS.toFixed(1)} s (target ≤ ${targets.maxStallS} s)`);
  if (report.identical && report.identical.same !== report.identical.of)
    missed.push(`${report.identical.of - report.identical.same} restores differ from their source`);
  if (report.rowsExactlyOnce && !report.rowsExactlyOnce.exact)
    missed.push(`rows not loaded exactly once: ${report.rowsExactlyOnce.rows} rows for ${report.rowsExactlyOnce.expected} records`);
  if (report.deletedBeforeVerify) missed.push(`${report.deletedBeforeVerify} local parts deleted before verification`);
  if (report.crashes.length > 0) missed.push(`${report.crashes.length} worker crashes: ${report.crashes.join('; ')}`);
  return missed;
}

const MiB = 1024 * 1024;

export function formatReports(reports: ScenarioReport[]): string {
  const rows = reports.map((r) => [
    r.scenario,
    `${r.completed}/${r.total}`,
    String(r.kills),
    r.partsResent === undefined ? '-' : `${r.partsResent} (${((r.bytesResent ?? 0) / MiB).toFixed(1)} MiB)`,
    r.kills > 0 && r.partsResent !== undefined ? (r.partsResent / r.kills).toFixed(2) : '-',
    r.longestStallS === undefined ? '-' : r.longestStallS.toFixed(1),
    r.identical ? `${r.identical.same}/${r.identical.of}` : '-',
    r.rowsExactlyOnce
      ? r.rowsExactlyOnce.exact
        ? `yes (${r.rowsExactlyOnce.rows})`
        : `NO (${r.rowsExactlyOnce.rows}/${r.rowsExactlyOnce.expected})`
      : '-',
    r.deletedBeforeVerify === undefined ? '-' : String(r.deletedBeforeVerify),
    String(r.crashes.length),
  ]);
  const head = [
    'scenario',
    'completed',
    'kills',
    're-sent parts',
    'per kill',
    'longest stall s',
    'restores identical',
    'rows exactly once',
    'deleted before verify',
    'worker crashes',
  ];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  const notes = reports.flatMap((r) => [...(r.notes ?? []), ...r.failures].map((n) => `- ${r.scenario}: ${n}`));
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line), ...(notes.length ? ['', ...notes] : [])].join('\n');
}
