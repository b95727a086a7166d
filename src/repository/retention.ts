/**
 * restic's `forget` keep policy as a pure function: which snapshots a set of
 * --keep-* rules keeps, and why, so the decision can be shown before anything
 * is deleted and tested without a repository.
 */

export interface RetentionPolicy {
  keepLast?: number;
  keepHourly?: number;
  keepDaily?: number;
  keepWeekly?: number;
  keepMonthly?: number;
  keepYearly?: number;
}

export interface Dated {
  id: string;
  /** ISO-8601, UTC. */
  time: string;
}

export interface RetentionDecision<T extends Dated> {
  keep: { snapshot: T; reasons: string[] }[];
  remove: T[];
}

interface Rule {
  option: keyof RetentionPolicy;
  label: string;
  reason: string;
  bucket: (time: Date, position: number) => string;
}

// Buckets are taken in UTC so that the same repository gives the same answer on every host, whatever its time zone.
const RULES: readonly Rule[] = [
  // Every snapshot is its own bucket, so the N newest are kept whatever their times.
  { option: 'keepLast', label: 'last', reason: 'last snapshot', bucket: (_time, position) => `#${position}` },
  { option: 'keepHourly', label: 'hourly', reason: 'hourly snapshot', bucket: (time) => time.toISOString().slice(0, 13).replace('T', ' ') },
  { option: 'keepDaily', label: 'daily', reason: 'daily snapshot', bucket: (time) => time.toISOString().slice(0, 10) },
  { option: 'keepWeekly', label: 'weekly', reason: 'weekly snapshot', bucket: isoWeek },
  { option: 'keepMonthly', label: 'monthly', reason: 'monthly snapshot', bucket: (time) => time.toISOString().slice(0, 7) },
  { option: 'keepYearly', label: 'yearly', reason: 'yearly snapshot', bucket: (time) => String(time.getUTCFullYear()) },
];

const DAY_MS = 24 * 60 * 60 * 1000;

// An ISO week belongs to the year that holds its Thursday, so the last days of December can fall in
// week 1 of the next year and the first days of January in week 52 or 53 of the previous one.
function isoWeek(time: Date): string {
  const midnight = Date.UTC(time.getUTCFullYear(), time.getUTCMonth(), time.getUTCDate());
  const weekday = time.getUTCDay() || 7;
  const thursday = new Date(midnight + (4 - weekday) * DAY_MS);
  const year = thursday.getUTCFullYear();
  const week = 1 + Math.floor((thursday.getTime() - Date.UTC(year, 0, 1)) / (7 * DAY_MS));
  return `${year}-W${String(week).padStart(2, '0')}`;
}

function counts(policy: RetentionPolicy): Map<keyof RetentionPolicy, number> {
  const result = new Map<keyof RetentionPolicy, number>();
  for (const { option } of RULES) {
    const value: unknown = policy[option];
    if (value === undefined) continue;
    // restic reads -1 as "unlimited"; here a negative count is more likely a typo than a wish to keep everything.
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
      throw new Error(`${option} must be a whole number of at least 0`);
    }
    if (value > 0) result.set(option, value);
  }
  return result;
}

export function isEmptyPolicy(policy: RetentionPolicy): boolean {
  return RULES.every(({ option }) => !policy[option]);
}

export function describePolicy(policy: RetentionPolicy): string {
  const parts = RULES.filter(({ option }) => (policy[option] ?? 0) > 0).map(({ option, label }) => `${label} ${policy[option]}`);
  return parts.length === 0 ? 'keep nothing' : `keep ${parts.join(', ')}`;
}

export function applyRetention<T extends Dated>(snapshots: readonly T[], policy: RetentionPolicy): RetentionDecision<T> {
  const remaining = counts(policy);
  if (remaining.size === 0) {
    // restic refuses this too: an empty policy is almost always a forgotten flag, and obeying it would empty the repository.
    throw new Error(
      'forgetting with no keep rule would remove every snapshot; give at least one --keep-* option (--keep-last, --keep-hourly, --keep-daily, --keep-weekly, --keep-monthly or --keep-yearly)',
    );
  }

  // Times are compared as instants rather than strings, so differing offsets or fractional digits still sort correctly.
  const dated = snapshots.map((snapshot) => {
    const ms = Date.parse(snapshot.time);
    if (Number.isNaN(ms)) throw new Error(`snapshot ${snapshot.id} has a time that is not an ISO-8601 date: ${JSON.stringify(snapshot.time)}`);
    return { snapshot, date: new Date(ms) };
  });
  // Ties are broken by id so the same input always yields the same decision.
  dated.sort((a, b) => b.date.getTime() - a.date.getTime() || (a.snapshot.id < b.snapshot.id ? 1 : a.snapshot.id > b.snapshot.id ? -1 : 0));

  const lastKept = new Map<keyof RetentionPolicy, string>();
  const keep: RetentionDecision<T>['keep'] = [];
  const remove: T[] = [];
  dated.forEach(({ snapshot, date }, position) => {
    const reasons: string[] = [];
    for (const rule of RULES) {
      const left = remaining.get(rule.option) ?? 0;
      if (left === 0) continue;
      const bucket = rule.bucket(date, position);
      // Newest first, so the first snapshot seen in a bucket is that bucket's newest; later ones in it add nothing.
      if (bucket === lastKept.get(rule.option)) continue;
      lastKept.set(rule.option, bucket);
      remaining.set(rule.option, left - 1);
      reasons.push(rule.reason);
    }
    if (reasons.length > 0) keep.push({ snapshot, reasons });
    else remove.push(snapshot);
  });
  return { keep, remove };
}
