import type { HoldRef } from './holds';

/** The status a job shows in its search attributes, status log, ledger and listings: the one list. */
export const STATUS_NAMES = ['queued', 'running', 'waiting-for-worker', 'waiting-for-host', 'paused', 'completed', 'failed', 'cancelled'] as const;
export type StatusName = (typeof STATUS_NAMES)[number];
/** The statuses a job ends in. */
export const ENDING_STATUSES: readonly StatusName[] = ['completed', 'failed', 'cancelled'];

export interface StatusEntry {
  status: StatusName;
  at: string;
  note?: string;
}

/** What a job carries across continue-as-new, so pause and the status log survive it. */
export interface TrackerState {
  log: StatusEntry[];
  paused: boolean;
  /** Operators' holds on the job; absent in jobs started before holds existed. */
  holds?: HoldRef[];
}

export interface StatusReport {
  jobId: string;
  kind: string;
  status: 'completed' | 'failed' | 'cancelled';
  detail: Record<string, unknown>;
}

/** The document POSTed to a callback URL and summarised in mail. */
export interface StatusDocument {
  jobId: string;
  runId: string;
  kind: string;
  event: 'completed' | 'failed' | 'cancelled' | 'escalated';
  status: StatusName;
  subject: string;
  cause?: string;
  at: string;
  statusLog: StatusEntry[];
  result?: Record<string, unknown>;
}
