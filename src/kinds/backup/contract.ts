/** What a backup's workflow, activities and clients exchange: types only, so workflow code may import it. */
import type { ProgressBase } from '../../jobs/progress';
import type { JobSettings } from '../../jobs/settings';
import type { TrackerState } from '../../jobs/status';
import type { BackupMessage } from './message';
import type { Snapshot } from '../../repository/snapshots';

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
  /** The snapshot's object; absent for jobs started before snapshots. */
  key?: string;
}

export interface PartResult {
  index: number;
  size: number;
  /** false when the part was already in the store, verified, from an earlier attempt. */
  uploaded: boolean;
}

/** One segment of the source, cut into chunks by content: the unit of a chunked backup's work. */
export interface SegmentRef {
  jobId: string;
  /** The backup's name, for logs and people. */
  name: string;
  /** The snapshot the job writes: its lists are stored under it. */
  snapshotId: string;
  source: SourceInfo;
  index: number;
  segmentSize: number;
}

export interface SegmentResult {
  index: number;
  offset: number;
  size: number;
  /** The id of the segment's chunk list in the repository. */
  list: string;
  chunks: number;
  /** Chunks the repository lacked, their plain bytes, and the sealed bytes stored for them. */
  newChunks: number;
  bytesNew: number;
  bytesStored: number;
  packs: number;
}

export interface WholeFile {
  sha256: string;
  md5?: string;
}

/** The first step of a chunked backup, which does all of it when the source fits in one segment. */
export interface SmallBackupInput {
  jobId: string;
  snapshotId: string;
  startedAt: string;
  backup: Pick<BackupInput, 'message' | 'settings'>;
  /** Hosts the job knows are held: there the step only prepares, and the job waits for the release. */
  heldHosts: string[];
}

export interface SmallBackupOutcome {
  /** The host that did the step: the job's other steps, if any, run there. */
  host?: string;
  source: SourceInfo;
  /** Present when the whole backup was done in the step. */
  done?: { segments: SegmentResult[]; whole: WholeFile; snapshot: Snapshot };
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
  /** The snapshot this job writes (jobs started before snapshots existed have none). */
  snapshotId?: string;
  /** A chunked backup's finished segments. */
  segments?: SegmentResult[];
  /** The source as the lost host saw it: if the next host sees the same file, the segments done stay done. */
  lostSource?: SourceInfo;
  whole?: WholeFile;
}

export interface BackupInput {
  message: BackupMessage & { id: string };
  settings: JobSettings;
  state?: BackupState;
  tracker?: TrackerState;
}

/** Parts and bytes: split, then uploaded and verified. Restore counts the same way. */
export interface TransferProgress extends ProgressBase {
  partsDone: number;
  partsTotal: number;
  bytesDone: number;
  bytesTotal: number;
}

export interface BackupProgress extends TransferProgress {
  kind: 'backup';
}

export interface BackupResult {
  kind: 'backup';
  jobId: string;
  name: string;
  size: number;
  partCount: number;
  sha256: string;
  md5?: string;
  manifestKey: string;
  /** The snapshot written; absent for backups made before snapshots. */
  snapshot?: string;
  layout?: 'chunks' | 'object' | 'parts';
  /** A chunked backup: chunks in the file, those the repository lacked, and the bytes stored for them. */
  chunks?: number;
  newChunks?: number;
  bytesStored?: number;
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
