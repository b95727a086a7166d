import type { Readable } from 'node:stream';

/**
 * What a store knows about one committed object. Its checksums are the store's
 * own, computed from the bytes it received, never a value courier wrote beside
 * the object: a store that reports none leaves them out.
 */
export interface ObjectInfo {
  key: string;
  size: number;
  sha256?: string;
  md5?: string;
  /** For an object assembled from parts, the server's checksum of its parts' checksums (`base64-N`), when it reports one. */
  compositeSha256?: string;
}

/** An object with the sha256 of the bytes the store holds: what verification compares. */
export interface CheckedObject extends ObjectInfo {
  sha256: string;
}

/** A key a listing found, with its size. */
export interface ListedObject {
  key: string;
  size: number;
}

export interface PutOptions {
  /** The store refuses to commit bytes whose sha256 or size differ from these. */
  expectedSha256?: string;
  expectedSize?: number;
  /** Sent along where the store checks md5 too (S3's Content-MD5). */
  expectedMd5?: string;
  md5?: boolean;
  /** Called with the running byte count while the body streams in. */
  onProgress?: (bytes: number) => void;
  signal?: AbortSignal;
}

export interface GetOptions {
  signal?: AbortSignal;
  /** Only these bytes of the object. */
  range?: { start: number; length: number };
}

export interface RangeReader {
  /** As getInto, on the object opened. */
  read(range: { start: number; length: number }, into: Buffer): Promise<number>;
  close(): Promise<void>;
}

/**
 * The object-store interface every adapter implements. Keys are '/'-separated
 * relative paths; a key is either fully committed with its checksum or absent.
 */
export interface ObjectStore {
  readonly description: string;
  put(key: string, body: Readable, options?: PutOptions): Promise<CheckedObject>;
  /** Stores a local file as the object; the file is left in place for the caller to remove once it has verified the upload. */
  putFile(key: string, file: string, options?: PutOptions): Promise<CheckedObject>;
  /** A new path for a file to be given to putFile, where putFile can take it without copying; the caller removes it after. */
  spoolPath(kind: string): Promise<string>;
  head(key: string): Promise<ObjectInfo | undefined>;
  /**
   * The object's sha256 (and md5) as the store reports them or, where it reports
   * none, as read back from it and hashed. Slower than head where the store keeps
   * no checksums; for verifying, never for looking up.
   */
  checksums(key: string, options?: Pick<GetOptions, 'signal'>): Promise<CheckedObject | undefined>;
  get(key: string, options?: GetOptions): Promise<Readable>;
  /** The bytes of `range` read into `into` (the caller's buffer, reused); fewer than asked when the object ends first. */
  getInto(key: string, range: { start: number; length: number }, into: Buffer, options?: Pick<GetOptions, 'signal'>): Promise<number>;
  /**
   * The object held open for many ranged reads, for a caller that reads it
   * run after run: found (or ObjectNotFoundError) once, not once per read.
   * The caller closes it.
   */
  openRanges(key: string, options?: Pick<GetOptions, 'signal'>): Promise<RangeReader>;
  list(prefix: string): Promise<ListedObject[]>;
  delete(key: string): Promise<void>;
}

/**
 * A store failure retrying cannot fix (no bucket, refused credentials, an
 * upload the server forgot). Stores know nothing of Temporal: the activities
 * turn this into a non-retryable failure of the same type at their boundary.
 */
export class StoreError extends Error {
  constructor(
    message: string,
    readonly reason: 'NotFound' | 'BadInput' | 'PartLost',
  ) {
    super(message);
    this.name = 'StoreError';
  }
}

export class ObjectNotFoundError extends Error {
  constructor(
    readonly key: string,
    store: string,
  ) {
    super(`object "${key}" does not exist in ${store}`);
    this.name = 'ObjectNotFoundError';
  }
}

export class ChecksumMismatchError extends Error {
  constructor(
    readonly key: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`object "${key}": expected ${expected}, received ${actual}`);
    this.name = 'ChecksumMismatchError';
  }
}

const KEY_SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;

/** Rejects keys that could escape the store's root or collide with its bookkeeping. */
export function assertValidKey(key: string): void {
  const segments = key.split('/');
  if (!segments.every((segment) => KEY_SEGMENT.test(segment) && !segment.includes('..'))) {
    throw new Error(`invalid object key "${key}": segments must be letters, digits, ".", "-", "_" and may not start with "."`);
  }
}

/** One uploaded part of a multipart upload, as the store reports it. */
export interface UploadedPart {
  partNumber: number;
  size: number;
  etag: string;
  sha256?: string;
}

/** The bytes of one part: a file, or a range of one (a part re-read from its source). */
export interface PartBytes {
  file: string;
  start?: number;
  length: number;
}

/**
 * Stores that can assemble one object from parts uploaded separately (S3
 * multipart). The upload id is the caller's to keep; an upload can be resumed
 * by asking which parts it already holds.
 */
export interface MultipartStore {
  startMultipart(key: string): Promise<string>;
  uploadPart(
    key: string,
    uploadId: string,
    partNumber: number,
    bytes: PartBytes,
    options: { sha256: string; md5?: string; signal?: AbortSignal; onProgress?: (bytes: number) => void },
  ): Promise<UploadedPart>;
  findPart(key: string, uploadId: string, partNumber: number): Promise<UploadedPart | undefined>;
  listParts(key: string, uploadId: string): Promise<UploadedPart[]>;
  /** Assembles the parts; the result's sha256 is the store's composite checksum when it reports one. */
  completeMultipart(key: string, uploadId: string, parts: UploadedPart[]): Promise<{ size?: number; compositeSha256?: string }>;
  abortMultipart(key: string, uploadId: string): Promise<void>;
  listMultipartUploads(prefix: string): Promise<{ key: string; uploadId: string }[]>;
}

export function supportsMultipart(store: ObjectStore): store is ObjectStore & MultipartStore {
  return typeof (store as Partial<MultipartStore>).startMultipart === 'function';
}
