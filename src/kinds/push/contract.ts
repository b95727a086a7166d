/** What a push's workflow, the hosts' delivery activity and clients exchange: types only. */
import type { ProgressBase } from '../../jobs/progress';
import type { JobSettings } from '../../jobs/settings';
import type { TrackerState } from '../../jobs/status';
import type { PushMessage } from './message';

export interface PushSettings {
  /** How long a host's queue may go unpolled before the host counts as unreachable. */
  hostTimeoutMs: number;
  postCommandTimeoutMs: number;
}

export interface PushInput {
  message: PushMessage & { id: string };
  settings: JobSettings;
  push: PushSettings;
  tracker?: TrackerState;
}

/** The file a push delivers, as the store holds it. */
export interface PushedFile {
  key: string;
  sha256: string;
  size: number;
}

export interface DeliveryRequest {
  host: string;
  file: PushedFile;
  dest: string;
  mode: string;
  owner?: string;
  postCommand?: string;
  postCommandTimeoutMs: number;
}

export interface DeliveryResult {
  host: string;
  dest: string;
  sha256: string;
  size: number;
  /** False when the destination already held these bytes. */
  written: boolean;
  postCommand?: { ok: boolean; output: string };
}

export interface HostOutcome {
  host: string;
  outcome: 'delivered' | 'failed' | 'unreachable';
  written?: boolean;
  postCommandOutput?: string;
  cause?: string;
}

/** Hosts, not parts: how many have answered, and how many of those failed or were unreachable. */
export interface PushProgress extends ProgressBase {
  kind: 'push';
  hostsTotal: number;
  hostsDone: number;
  hostsFailed: number;
  fileSize: number;
}

export interface PushResult {
  kind: 'push';
  jobId: string;
  name: string;
  dest: string;
  sha256: string;
  size: number;
  hosts: HostOutcome[];
  completedAt: string;
}
