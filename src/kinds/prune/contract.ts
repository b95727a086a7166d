/** What a prune's workflow, activities and clients exchange: types only. */
import type { ProgressBase } from '../../jobs/progress';
import type { JobSettings } from '../../jobs/settings';
import type { TrackerState } from '../../jobs/status';
import type { PruneMessage } from './message';

export interface PruneInput {
  message: PruneMessage & { id: string };
  settings: JobSettings;
  tracker?: TrackerState;
}

export interface PrunePlan {
  /** The mark naming what will be deleted; absent when nothing is unused. */
  condemnation?: string;
  /** Backups that were running when the mark was written: the sweep waits for them. */
  waitFor: string[];
  packsCondemned: number;
  packsRepacked: number;
  listsCondemned: number;
  bytesCondemned: number;
}

export interface SweepResult {
  packsDeleted: number;
  /** Marked packs a backup that ran across the mark came to use: kept. */
  packsSpared: number;
  listsDeleted: number;
  bytesFreed: number;
}

export interface PruneProgress extends ProgressBase {
  kind: 'prune';
  packsCondemned: number;
  packsDeleted: number;
  /** Backups the sweep is waiting for. */
  waitingFor: number;
}

export interface PruneResult extends SweepResult {
  kind: 'prune';
  jobId: string;
  packsCondemned: number;
  packsRepacked: number;
  /** Backups it waited for before deleting anything. */
  waitedFor: string[];
  completedAt: string;
}
