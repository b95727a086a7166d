/** What a forget's workflow, activity and clients exchange: types only. */
import type { ProgressBase } from '../../jobs/progress';
import type { JobSettings } from '../../jobs/settings';
import type { ForgetMessage } from './message';

export interface ForgetInput {
  message: ForgetMessage & { id: string };
  settings: JobSettings;
}

export interface ForgetOutcome {
  kept: { id: string; time: string; reasons: string[] }[];
  removed: { id: string; time: string }[];
}

export interface ForgetProgress extends ProgressBase {
  kind: 'forget';
  removed: number;
}

export interface ForgetResult extends ForgetOutcome {
  kind: 'forget';
  jobId: string;
  name: string;
  policy: string;
  completedAt: string;
}
