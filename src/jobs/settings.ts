import type { ChecksumSet, NotifyEvent } from './fields';

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
}

/** The host a message named, as its queue and identity carry it. */
export const hostIdIn = (settings: JobSettings, host: string): string => settings.hostTags?.[host] ?? host;

export interface HostSettings {
  /** A pinned host whose queue nobody polls for this long counts as lost. */
  lostAfterMs: number;
  /** How long a job that named its host waits for it to come back before failing. */
  waitMs: number;
}
