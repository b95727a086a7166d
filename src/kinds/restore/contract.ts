/** What a restore's workflow, activities and clients exchange: types only. */
import type { JobSettings } from '../../jobs/settings';
import type { TrackerState } from '../../jobs/status';
import type { TransferProgress } from '../backup/contract';
import type { RestoreMessage } from './message';

export interface ManifestSummary {
  name: string;
  /** The snapshot restored; absent for a backup made before snapshots. */
  snapshot?: string;
  layout?: 'chunks' | 'object' | 'parts';
  size: number;
  sha256: string;
  partCount: number;
}

export interface RestoreState {
  manifest?: ManifestSummary;
  tempPath?: string;
  /** The host holding the temp file. */
  host?: string;
  hostsLost?: string[];
  nextPart: number;
  bytesRestored: number;
  startedAt: string;
}

export interface RestoreInput {
  message: RestoreMessage & { id: string };
  settings: JobSettings;
  state?: RestoreState;
  tracker?: TrackerState;
}

/** The first step of a restore, which does all of it when the backup has one part. */
export interface SmallRestoreInput {
  message: RestoreInput['message'];
  /** Hosts the job knows are held: there the step only prepares, and the job waits for the release. */
  heldHosts: string[];
}

export interface SmallRestoreOutcome {
  /** The host that holds the temp file (or the restored file, when done). */
  host: string;
  manifest: ManifestSummary;
  tempPath: string;
  /** The file is restored, verified and in place. */
  done: boolean;
}

export interface RestoreProgress extends TransferProgress {
  kind: 'restore';
}

export interface RestoreResult {
  kind: 'restore';
  jobId: string;
  name: string;
  dest: string;
  size: number;
  sha256: string;
  partCount: number;
  snapshot?: string;
  /** The host that received the file. */
  host?: string;
  hostsLost?: string[];
  completedAt: string;
}
