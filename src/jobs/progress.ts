import type { StatusName } from './status';

export type Phase =
  | 'queued'
  | 'prepare'
  | 'split'
  | 'upload'
  | 'manifest'
  | 'download'
  | 'verify'
  | 'cleanup'
  | 'extract'
  | 'transform'
  | 'load'
  | 'archive'
  | 'wait'
  | 'completed'
  | 'failed';

/** What every job's progress says; each kind adds its own counts (parts and bytes, hosts, records and batches). */
export interface ProgressBase {
  /** The job type the counts belong to. */
  kind: string;
  phase: Phase;
  status?: StatusName;
  lastError?: string;
  /** Operators' holds keeping the job from new work (`kind:backup`, `host:web1`). */
  holds?: string[];
}
