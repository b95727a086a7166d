import type { ChecksumSet, NotifyEvent } from './fields';
import type { HoldRef } from './holds';

/** Who hears about a job and when, resolved from the message and the configured defaults. */
export interface NotifyPlan {
  callbackUrl?: string;
  webhookOn: NotifyEvent[];
  email: string[];
  emailOn: NotifyEvent[];
  webhook: { attempts: number; retryIntervalMs: number; timeoutMs: number };
}

/**
 * Settings fixed when the job is admitted (by courier's client, or by the
 * workflow's first step when another client started it), so every run of the
 * job (and every continue-as-new) agrees.
 */
export interface JobSettings {
  partSize: number;
  concurrency: number;
  checksums: ChecksumSet;
  heartbeatTimeoutMs: number;
  /** Parts a run of a backup or restore handles before it continues as new; absent in jobs started before the setting, which used 1,000. */
  partsPerRun?: number;
  notify: NotifyPlan;
  /** Status transitions are appended to the PostgreSQL ledger. */
  ledger: boolean;
  /** How a backup's parts are kept: one object each, or one object assembled by a multipart upload. */
  /** chunks: deduplicated snapshots in the repository (`parts`, its older name, in jobs started before snapshots); object: one plain S3 object per snapshot. */
  layout: 'chunks' | 'parts' | 'object';
  /** Pinning file steps to one host; absent in jobs started before hosts existed, which run them on the shared queue. */
  hosts?: HostSettings;
  /** With the codec on: the tag each host the message names goes by in queue names and identities (see hostTag). */
  hostTags?: Record<string, string>;
  /**
   * Operators' holds in place when the job was submitted or admitted (a job
   * started by another job: those its parent knew); holds placed later reach
   * the job as signals. Read from the store before the job starts, so the
   * workflow needs no step of its own to learn them.
   */
  holds?: HoldRef[];
}

/** Settings for a job this one starts: the holds it knows of, in place of those it started with. */
export function withHolds(settings: JobSettings, holds: HoldRef[]): JobSettings {
  const { holds: _started, ...rest } = settings;
  return holds.length > 0 ? { ...rest, holds } : rest;
}

/** The host a message named, as its queue and identity carry it. */
export const hostIdIn = (settings: JobSettings, host: string): string => settings.hostTags?.[host] ?? host;

export interface HostSettings {
  /** A pinned host whose queue nobody polls for this long counts as lost. */
  lostAfterMs: number;
  /** How long a job that named its host waits for it to come back before failing. */
  waitMs: number;
}
