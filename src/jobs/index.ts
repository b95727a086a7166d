/**
 * The contract between client, workflows and activities: inputs, results and
 * progress. Types and pure helpers only, so workflow code may import it.
 */
import type { BackupMessage, ChecksumSet, DispatchMessage, EtlMessage, NotifyEvent, PushMessage, RestoreMessage } from '../kinds/messages';

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
  | 'completed'
  | 'failed';

export interface Progress {
  phase: Phase;
  status?: StatusName;
  partsDone: number;
  partsTotal: number;
  bytesDone: number;
  bytesTotal: number;
  lastError?: string;
}

/** The status a job shows in its search attributes, status log and ledger. */
export const STATUS_NAMES = ['queued', 'running', 'waiting-for-worker', 'waiting-for-host', 'paused', 'completed', 'failed', 'cancelled'] as const;
export type StatusName = (typeof STATUS_NAMES)[number];

export interface StatusEntry {
  status: StatusName;
  at: string;
  note?: string;
}

/** Who hears about a job and when, resolved from the message and the configured defaults at submission. */
export interface NotifyPlan {
  callbackUrl?: string;
  webhookOn: NotifyEvent[];
  email: string[];
  emailOn: NotifyEvent[];
  webhook: { attempts: number; retryIntervalMs: number; timeoutMs: number };
}

/** Settings fixed when the job is submitted, so every run of the job (and every continue-as-new) agrees. */
export interface JobSettings {
  partSize: number;
  concurrency: number;
  checksums: ChecksumSet;
  heartbeatTimeoutMs: number;
  notify: NotifyPlan;
  /** Status transitions are appended to the PostgreSQL ledger. */
  ledger: boolean;
  /** How a backup's parts are kept: one object each, or one object assembled by a multipart upload. */
  layout: 'parts' | 'object';
  /** Pinning file steps to one host; absent in jobs started before hosts existed, which run them on the shared queue. */
  hosts?: HostSettings;
}

export interface HostSettings {
  /** A pinned host whose queue nobody polls for this long counts as lost. */
  lostAfterMs: number;
  /** How long a job that named its host waits for it to come back before failing. */
  waitMs: number;
}

/** What a job carries across continue-as-new, so pause and the status log survive it. */
export interface TrackerState {
  log: StatusEntry[];
  paused: boolean;
}

export interface SourceInfo {
  /** The host that checked the source: the job's file steps run there. */
  host?: string;
  path: string;
  size: number;
  mtimeMs: number;
  partCount: number;
}

export interface SplitSummary {
  size: number;
  partCount: number;
  sha256: string;
  md5?: string;
  /** Parts a retried split found complete and verified on disk, and kept. */
  partsReused: number;
}

export interface PartRef {
  backup: string;
  index: number;
  /** The store may hold this part already (the job lost a host): ask it before sending. */
  mayBeStored?: boolean;
}

export interface ObjectPartRef extends PartRef {
  uploadId: string;
}

export interface PartResult {
  index: number;
  size: number;
  /** false when the part was already in the store, verified, from an earlier attempt. */
  uploaded: boolean;
}

export interface BackupState {
  source?: SourceInfo;
  split?: SplitSummary;
  /** Every part below this index is uploaded and verified. */
  nextPart: number;
  bytesUploaded: number;
  partsUploaded: number;
  startedAt: string;
  /** The multipart upload of the object layout, kept so a resumed job adds only the missing parts. */
  uploadId?: string;
  /** Hosts this job was pinned to and lost, in order. */
  hostsLost?: string[];
}

export interface BackupInput {
  message: BackupMessage & { id: string };
  settings: JobSettings;
  state?: BackupState;
  tracker?: TrackerState;
}

export interface BackupResult {
  jobId: string;
  name: string;
  size: number;
  partCount: number;
  sha256: string;
  md5?: string;
  manifestKey: string;
  /** The object layout's single object. */
  objectKey?: string;
  partsUploaded: number;
  partsReusedBySplit: number;
  /** The host that split and uploaded the file. */
  host?: string;
  /** Hosts the job lost on the way; its file steps started again elsewhere. */
  hostsLost?: string[];
  startedAt: string;
  completedAt: string;
}

export interface ManifestSummary {
  name: string;
  size: number;
  sha256: string;
  partCount: number;
}

export interface RestoreState {
  manifest?: ManifestSummary;
  tempPath?: string;
  /** The host holding the temp file. */
  host?: string;
  hostsLost?: string[];
  nextPart: number;
  bytesRestored: number;
  startedAt: string;
}

export interface RestoreInput {
  message: RestoreMessage & { id: string };
  settings: JobSettings;
  state?: RestoreState;
  tracker?: TrackerState;
}

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

export interface DispatchResult {
  jobId: string;
  format: string;
  topic: string;
  worker: string;
  checks: number;
  output: HandlerOutput;
  completedAt: string;
}

export interface RestoreResult {
  jobId: string;
  name: string;
  dest: string;
  size: number;
  sha256: string;
  partCount: number;
  /** The host that received the file. */
  host?: string;
  hostsLost?: string[];
  completedAt: string;
}

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

export interface PushResult {
  jobId: string;
  name: string;
  dest: string;
  sha256: string;
  size: number;
  hosts: HostOutcome[];
  completedAt: string;
}

export interface EtlInput {
  message: EtlMessage & { id: string };
  settings: JobSettings;
  /** Tries per batch and storage location before the location counts as failed. */
  loadAttempts: number;
  tracker?: TrackerState;
}

/** Rows a location took, summed over batches. */
export interface LocationTally {
  location: string;
  /** Records of batches this location loaded (all present in its table). */
  records: number;
  /** Rows added; fewer than records when an earlier run had loaded some. */
  inserted: number;
  /** Batches this location could not take: copied to L/<location>/failed. */
  failedBatches: number;
}

export interface TransformOutcome {
  file: string;
  jobId: string;
  loadsStarted?: number;
  error?: string;
}

export interface EtlResult {
  jobId: string;
  pipeline: string;
  source: string;
  /** Transform jobs started: one per valid file (0 is a fine answer). */
  transformsStarted: number;
  /** Files that did not validate, now in E/failed. */
  rejected: { file: string; reason: string }[];
  transforms: TransformOutcome[];
  locations: LocationTally[];
  completedAt: string;
}

export interface TransformInput {
  pipeline: string;
  /** The file's tagged name in T/working. */
  name: string;
  /** The host whose ETL tree holds the file. */
  host?: string;
  settings: JobSettings;
  loadAttempts: number;
  state?: { batches: number; records: number; nextBatch: number; failedLoads: number; tallies: LocationTally[] };
  tracker?: TrackerState;
}

export interface TransformResult {
  jobId: string;
  file: string;
  records: number;
  /** Load jobs started: one per batch. */
  loadsStarted: number;
  /** Load jobs that failed outright (their batch file was unreadable). */
  failedLoads: number;
  locations: LocationTally[];
}

export interface LoadInput {
  pipeline: string;
  /** The batch file's name in L/working. */
  name: string;
  /** The host whose ETL tree holds the batch. */
  host?: string;
  settings: JobSettings;
  loadAttempts: number;
}

export interface LocationLoad {
  location: string;
  outcome: 'loaded' | 'failed';
  records: number;
  inserted: number;
  error?: string;
}

export interface LoadResult {
  jobId: string;
  batch: string;
  records: number;
  locations: LocationLoad[];
}

export interface CleanupInput {
  olderThanMs: number;
  /** The host whose ETL tree is cleaned; without one, whichever worker takes the run. */
  host?: string;
  settings: JobSettings;
}

export interface CleanupResult {
  /** 0 or 1: one dated archive per run, none when nothing was resolved. */
  archivesBuilt: number;
  archive?: string;
  filesArchived: number;
  staleFiles: string[];
  completedAt: string;
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
  event: NotifyEvent;
  status: StatusName;
  subject: string;
  cause?: string;
  at: string;
  statusLog: StatusEntry[];
  result?: Record<string, unknown>;
}

/** The task queue a host's worker (`courier worker --host NAME`) polls for deliveries. */
export const hostQueue = (host: string): string => `host-${host}`;
/** Where a push keeps its file in the store: by content, so the same bytes are stored once. */
export const pushObjectKey = (name: string, sha256: string): string => `pushes/${name}/${sha256}`;

/** A dispatch topic's task queue: the control queue's name plus the topic. */
export const topicQueue = (controlQueue: string, topic: string): string => `${controlQueue}.dispatch.${topic}`;
/** A topic's queue on one host: for work whose payload names files only that host has. */
export const hostTopicQueue = (controlQueue: string, topic: string, host: string): string => `${topicQueue(controlQueue, topic)}@${host}`;

export const partKey = (backup: string, index: number): string => `backups/${backup}/parts/${String(index).padStart(6, '0')}`;
export const manifestKey = (backup: string): string => `backups/${backup}/manifest.json`;
/** The one object of a backup in the object layout. */
export const objectKey = (backup: string): string => `backups/${backup}/object`;
export const jobRecordKey = (jobId: string): string => `jobs/${jobId.replace(/[^A-Za-z0-9._-]/g, '_')}.json`;
export const partCountFor = (size: number, partSize: number): number => Math.ceil(size / partSize);

/** Names shared by workflows (which define handlers) and activities (which may only signal by name). */
export const SIGNALS = { splitProgress: 'splitProgress', pause: 'pause', resume: 'resume', handlerStarted: 'handlerStarted' } as const;
export const QUERIES = { progress: 'progress', statusLog: 'statusLog' } as const;
