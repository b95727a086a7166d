/** What a verify's workflow, activity and clients exchange: types only. */
import type { ProgressBase } from '../../jobs/progress';
import type { JobSettings } from '../../jobs/settings';
import type { VerifyMessage } from './message';

export interface VerifyInput {
  message: VerifyMessage & { id: string };
  settings: JobSettings;
}

export interface VerifyProgress extends ProgressBase {
  kind: 'verify';
  partsChecked: number;
}

export interface VerifyResult {
  kind: 'verify';
  jobId: string;
  name: string;
  partCount: number;
  size: number;
  /** Parts whose bytes are missing or differ from the manifest. */
  bad: { index: number; reason: string }[];
  completedAt: string;
}
