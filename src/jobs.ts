/**
 * The contract between client, workflows and activities: inputs, results and
 * progress. Types and pure helpers only, so workflow code may import it.
 */
import type { BackupMessage, ChecksumSet, RestoreMessage } from './messages';

export type Phase =
  | 'queued'
  | 'prepare'
  | 'split'
  | 'upload'
  | 'manifest'
  | 'download'
  | 'verify'
  | 'cleanup'
  | 'completed'
  | 'failed';

export interface Progress {
  phase: Phase;
  partsDone: number;
  partsTotal: number;
  bytesDone: number;
  bytesTotal: number;
  lastError?: string;
}

/** Settings fixed when the job is submitted, so every run of the job (and every continue-as-new) agrees. */
export interface JobSettings {
  partSize: number;
  concurrency: number;
  checksums: ChecksumSet;
  heartbeatTimeoutMs: number;
}

export interface SourceInfo {
  path: string;
  size: number;
  mtimeMs: number;
  partCount: number;
}

export interface SplitSummary {
  size: number;
  partCount: number;
  sha256: string;
  md5?: string;
  /** Parts a retried split found complete and verified on disk, and kept. */
  partsReused: number;
}

export interface PartRef {
  backup: string;
  index: number;
}

export interface PartResult {
  index: number;
  size: number;
  /** false when the part was already in the store, verified, from an earlier attempt. */
  uploaded: boolean;
}

export interface BackupState {
  source?: SourceInfo;
  split?: SplitSummary;
  /** Every part below this index is uploaded and verified. */
  nextPart: number;
  bytesUploaded: number;
  partsUploaded: number;
  startedAt: string;
}

export interface BackupInput {
  message: BackupMessage & { id: string };
  settings: JobSettings;
  state?: BackupState;
}

export interface BackupResult {
  jobId: string;
  name: string;
  size: number;
  partCount: number;
  sha256: string;
  md5?: string;
  manifestKey: string;
  partsUploaded: number;
  partsReusedBySplit: number;
  startedAt: string;
  completedAt: string;
}

export interface ManifestSummary {
  name: string;
  size: number;
  sha256: string;
  partCount: number;
}

export interface RestoreState {
  manifest?: ManifestSummary;
  tempPath?: string;
  nextPart: number;
  bytesRestored: number;
  startedAt: string;
}

export interface RestoreInput {
  message: RestoreMessage & { id: string };
  settings: JobSettings;
  state?: RestoreState;
}

export interface RestoreResult {
  jobId: string;
  name: string;
  dest: string;
  size: number;
  sha256: string;
  partCount: number;
  completedAt: string;
}

export interface StatusReport {
  jobId: string;
  kind: string;
  status: 'completed' | 'failed';
  detail: Record<string, unknown>;
}

export const partKey = (backup: string, index: number): string =>
  `backups/${backup}/parts/${String(index).padStart(6, '0')}`;
export const manifestKey = (backup: string): string => `backups/${backup}/manifest.json`;
export const jobRecordKey = (jobId: string): string => `jobs/${jobId.replace(/[^A-Za-z0-9._-]/g, '_')}.json`;
export const partCountFor = (size: number, partSize: number): number => Math.ceil(size / partSize);

/** Names shared by workflows (which define handlers) and activities (which may only signal by name). */
export const SIGNALS = { splitProgress: 'splitProgress' } as const;
export const QUERIES = { progress: 'progress' } as const;
