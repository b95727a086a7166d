/** What a dispatch's workflow, its handler activity and clients exchange: types only. */
import type { ProgressBase } from '../../jobs/progress';
import type { JobSettings } from '../../jobs/settings';
import type { TrackerState } from '../../jobs/status';
import type { DispatchMessage } from './message';

export interface DispatchSettings {
  /** The task queue of the message's topic, where the workers that handle its format poll. */
  topic: string;
  taskQueue: string;
  /** The host that must do the work, when the message named one. */
  host?: string;
  checkIntervalMs: number;
  maxChecks: number;
  deadlineMs: number;
  workTimeoutMs: number;
}

export interface DispatchInput {
  message: DispatchMessage & { id: string };
  settings: JobSettings;
  dispatch: DispatchSettings;
  tracker?: TrackerState;
}

export interface HandlerOutput {
  /** What the handler made, e.g. the store key and checksum of an archive. */
  [key: string]: unknown;
}

/** Who took the work, and how many checks found nobody first. */
export interface DispatchProgress extends ProgressBase {
  kind: 'dispatch';
  topic: string;
  checks: number;
  worker?: string;
  done: boolean;
}

export interface DispatchResult {
  kind: 'dispatch';
  jobId: string;
  format: string;
  topic: string;
  worker: string;
  checks: number;
  output: HandlerOutput;
  completedAt: string;
}
