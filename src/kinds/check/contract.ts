/** What a check's workflow, activity and clients exchange: types only. */
import type { ProgressBase } from '../../jobs/progress';
import type { JobSettings } from '../../jobs/settings';
import type { CheckMessage } from './message';

export interface CheckInput {
  message: CheckMessage & { id: string };
  settings: JobSettings;
}

export interface Damage {
  chunk: string;
  pack?: string;
  reason: string;
  /** name@snapshot of every snapshot that needs the chunk. */
  snapshots: string[];
}

export interface CheckOutcome {
  snapshots: number;
  chunksTotal: number;
  chunksChecked: number;
  bytesRead: number;
  /** The slice read this run (1-based) of how many. */
  slice: number;
  of: number;
  damaged: Damage[];
}

export interface CheckProgress extends ProgressBase {
  kind: 'check';
  chunksChecked: number;
}

export interface CheckResult extends CheckOutcome {
  kind: 'check';
  jobId: string;
  completedAt: string;
}
