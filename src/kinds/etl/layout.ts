/**
 * The directories of seed 002, relative to the ETL root. Operators use them:
 * a file's place says how far it got, and moving it back retries it.
 */
export const STAGE_DIRS = {
  extractWorking: 'E/working',
  extractResolved: 'E/resolved',
  extractFailed: 'E/failed',
  transformWorking: 'T/working',
  transformInProcess: 'T/work_in_process',
  transformResolved: 'T/resolved',
  transformFailed: 'T/validate/failed',
  loadWorking: 'L/working',
  loadInProgress: 'L/work_in_progress',
  loadResolved: 'L/resolved',
  loadFailed: 'L/validate/failed',
} as const;

export type StageDir = (typeof STAGE_DIRS)[keyof typeof STAGE_DIRS] | `L/${string}/failed`;

/** Where a batch goes when one storage location could not take it. */
export const locationFailedDir = (location: string): StageDir => `L/${location}/failed`;

export const RESOLVED_DIRS = [STAGE_DIRS.extractResolved, STAGE_DIRS.transformResolved, STAGE_DIRS.loadResolved];

/** The stage directories whose files wait for a person (or a stuck job) when they grow old. */
export const ATTENTION_DIRS = [
  STAGE_DIRS.extractWorking,
  STAGE_DIRS.extractFailed,
  STAGE_DIRS.transformWorking,
  STAGE_DIRS.transformInProcess,
  STAGE_DIRS.transformFailed,
  STAGE_DIRS.loadWorking,
  STAGE_DIRS.loadInProgress,
  STAGE_DIRS.loadFailed,
];

/** Workflows import this file, so it may not use node:path: ".csv" of "a.csv", "" of "a" or ".a". */
function extension(base: string): string {
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(dot) : '';
}

/**
 * A file's name inside the ETL tree carries the first 8 hex digits of its
 * sha256, so two different files called orders.csv never meet in one directory.
 */
export function taggedName(file: string, sha256: string): string {
  const base = file.slice(file.lastIndexOf('/') + 1);
  const tag = sha256.slice(0, 8);
  const ext = extension(base);
  const stem = base.slice(0, base.length - ext.length);
  if (stem.endsWith(`.${tag}`)) return base;
  return `${stem}.${tag}${ext}`;
}

/** How batch files are written: tab-separated lines (now), or one JSON document (jobs recorded before that). */
export type BatchFormat = 'tsv' | 'json';

/** Batch files of a transformed file: orders.1a2b3c4d.b000001.tsv. */
export function batchName(name: string, index: number, format: BatchFormat = 'json'): string {
  const stem = name.slice(0, name.length - extension(name).length);
  return `${stem}.b${String(index + 1).padStart(6, '0')}.${format}`;
}
