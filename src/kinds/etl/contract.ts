/** What the ETL workflows (extract, transform, load, cleanup), their activities and clients exchange: types only. */
import type { ProgressBase } from '../../jobs/progress';
import type { JobSettings } from '../../jobs/settings';
import type { TrackerState } from '../../jobs/status';
import type { EtlMessage } from './message';
import type { BatchFormat } from './layout';

export interface EtlInput {
  message: EtlMessage & { id: string };
  settings: JobSettings;
  /** Tries per batch and storage location before the location counts as failed. */
  loadAttempts: number;
  tracker?: TrackerState;
}

/** Rows a location took, summed over batches. */
export interface LocationTally {
  location: string;
  /** Records of batches this location loaded (all present in its table). */
  records: number;
  /** Rows added; fewer than records when an earlier run had loaded some. */
  inserted: number;
  /** Batches this location could not take: copied to L/<location>/failed. */
  failedBatches: number;
}

export interface TransformOutcome {
  file: string;
  jobId: string;
  loadsStarted?: number;
  error?: string;
}

/** Extract counts files (and their bytes), then the transforms it started and the ones that finished. */
export interface EtlProgress extends ProgressBase {
  kind: 'etl';
  filesDone: number;
  filesTotal: number;
  bytesDone: number;
  bytesTotal: number;
  rejected: number;
  transformsStarted: number;
  transformsDone: number;
}

export interface EtlResult {
  kind: 'etl';
  jobId: string;
  pipeline: string;
  source: string;
  /** Transform jobs started: one per valid file (0 is a fine answer). */
  transformsStarted: number;
  /** Files that did not validate, now in E/failed. */
  rejected: { file: string; reason: string }[];
  transforms: TransformOutcome[];
  locations: LocationTally[];
  completedAt: string;
}

export interface TransformInput {
  pipeline: string;
  /** The file's tagged name in T/working. */
  name: string;
  /** The host whose ETL tree holds the file. */
  host?: string;
  settings: JobSettings;
  loadAttempts: number;
  state?: {
    batches: number;
    records: number;
    nextBatch: number;
    failedLoads: number;
    tallies: LocationTally[];
    /** How the batches were written; runs recorded before batches were tab-separated carry none (JSON). */
    format?: BatchFormat;
  };
  tracker?: TrackerState;
}

/** Records batched, and batches loaded. */
export interface TransformProgress extends ProgressBase {
  kind: 'etl-transform';
  records: number;
  batchesDone: number;
  batchesTotal: number;
}

export interface TransformResult {
  kind: 'etl-transform';
  jobId: string;
  file: string;
  records: number;
  /** Load jobs started: one per batch. */
  loadsStarted: number;
  /** Load jobs that failed outright (their batch file was unreadable). */
  failedLoads: number;
  locations: LocationTally[];
}

export interface LoadInput {
  pipeline: string;
  /** The batch file's name in L/working. */
  name: string;
  /** The host whose ETL tree holds the batch. */
  host?: string;
  settings: JobSettings;
  loadAttempts: number;
  /**
   * 'merged': the batch is taken and checked in one step, and a batch with one
   * location is filed as resolved by the step that loads it. 'one': as merged,
   * and a batch with one location is taken, checked, loaded and filed in a
   * single step. Loads started before these existed run their steps one by one.
   * The Transform that starts the load decides (a patch there is recorded once
   * per file; in each load it would cost a marker and a visibility write).
   */
  steps?: 'merged' | 'one';
}

export interface LocationLoad {
  location: string;
  outcome: 'loaded' | 'failed';
  records: number;
  inserted: number;
  error?: string;
}

/** One batch into every storage location. */
export interface LoadProgress extends ProgressBase {
  kind: 'etl-load';
  records: number;
  locationsDone: number;
  locationsTotal: number;
}

export interface LoadResult {
  kind: 'etl-load';
  jobId: string;
  batch: string;
  records: number;
  locations: LocationLoad[];
}

export interface CleanupInput {
  olderThanMs: number;
  /** The host whose ETL tree is cleaned; without one, whichever worker takes the run. */
  host?: string;
  settings: JobSettings;
}

export interface CleanupProgress extends ProgressBase {
  kind: 'etl-cleanup';
  filesArchived: number;
}

export interface CleanupResult {
  kind: 'etl-cleanup';
  /** 0 or 1: one dated archive per run, none when nothing was resolved. */
  archivesBuilt: number;
  archive?: string;
  filesArchived: number;
  staleFiles: string[];
  completedAt: string;
}
