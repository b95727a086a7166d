import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createHash, randomUUID } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  UploadPartCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import type { AwsSettings } from '../config';
import { hashFile } from '../hashing/hash-file';
import {
  assertValidKey,
  ChecksumMismatchError,
  ObjectNotFoundError,
  StoreError,
  type CheckedObject,
  type GetOptions,
  type ListedObject,
  type MultipartStore,
  type ObjectInfo,
  type ObjectStore,
  type PartBytes,
  type PutOptions,
  type RangeReader,
  type UploadedPart,
} from './store';

export interface S3Location {
  bucket: string;
  /** '' or ends with '/'. */
  prefix: string;
  pathStyle: boolean;
  aws: AwsSettings;
}

export const hexToBase64 = (hex: string) => Buffer.from(hex, 'hex').toString('base64');
export const base64ToHex = (b64: string) => Buffer.from(b64, 'base64').toString('hex');

const READ_ATTEMPTS = 4;

/** A read that broke off: not a missing object, a refusal or a cancellation, which asking again cannot change. */
const isInterruptedRead = (err: unknown) =>
  !(err instanceof ObjectNotFoundError || err instanceof StoreError || (err as Error).name === 'AbortError');

const CREDENTIAL_ERRORS = new Set(['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied', 'InvalidSecurity', 'Forbidden']);
const DIGEST_ERRORS = new Set(['BadDigest', 'InvalidDigest', 'XAmzContentSHA256Mismatch', 'XAmzContentChecksumMismatch', 'InvalidChecksum']);
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH']);

const BODY_ATTEMPTS = 4;

/** Trouble another try may not meet: the server busy or failing, the connection lost. Refusals and bad digests are answers. */
function isTransient(err: unknown): boolean {
  const name = (err as { name?: string }).name ?? '';
  if (name === 'AbortError' || DIGEST_ERRORS.has(name)) return false;
  const status = err instanceof S3ServiceException ? err.$metadata.httpStatusCode : undefined;
  if (status !== undefined) return status >= 500 || status === 429;
  const code = (err as NodeJS.ErrnoException).code ?? (err as { cause?: NodeJS.ErrnoException }).cause?.code ?? '';
  return NETWORK_CODES.has(code) || name === 'TimeoutError' || /socket hang up|aborted|ECONNRESET/i.test((err as Error).message ?? '');
}

/** Passes bytes through, reporting the running count (heartbeats while a body uploads). */
function progressCounter(onProgress?: (bytes: number) => void): Transform {
  let sent = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      sent += chunk.length;
      onProgress?.(sent);
      done(null, chunk);
    },
  });
}

/** The file an upload streams from could not be read: not the server's doing, so neither retried here nor translated. */
class UnreadableFileError extends Error {}

/**
 * An S3-compatible bucket (AWS, MinIO, Ceph, versitygw) as an object store.
 * Every upload carries its sha256 so the server refuses corrupted bytes, and
 * head reports the checksum the server computed, which is what verification compares.
 */
export class S3Store implements ObjectStore, MultipartStore {
  readonly description: string;
  readonly client: S3Client;
  readonly endpoint: string;

  constructor(readonly location: S3Location) {
    const { aws } = location;
    this.endpoint = aws.endpoint ?? 'AWS S3';
    this.description = `s3 store s3://${location.bucket}/${location.prefix} at ${this.endpoint}`;
    this.client = new S3Client({
      region: aws.region,
      ...(aws.endpoint ? { endpoint: aws.endpoint } : {}),
      // Without keys in the configuration the SDK's default chain (profiles, instance roles) applies.
      ...(aws.accessKeyId && aws.secretAccessKey
        ? { credentials: { accessKeyId: aws.accessKeyId, secretAccessKey: aws.secretAccessKey, sessionToken: aws.sessionToken } }
        : {}),
      forcePathStyle: location.pathStyle,
      // courier sends the sha256 itself; no extra CRC on top.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      // A failed request (5xx, reset, throttled) is tried again at once, with the SDK's short backoff, before a step fails.
      maxAttempts: 5,
    });
  }

  objectKey(key: string): string {
    assertValidKey(key);
    return `${this.location.prefix}${key}`;
  }

  /** One clear line for the errors people hit: no bucket, bad credentials, no endpoint. */
  translate(err: unknown, action: string): Error {
    const name = (err as { name?: string }).name ?? '';
    const code = (err as NodeJS.ErrnoException).code ?? (err as { cause?: NodeJS.ErrnoException }).cause?.code ?? '';
    const status = err instanceof S3ServiceException ? err.$metadata.httpStatusCode : undefined;
    // Kept as it is, so an activity cancelled mid-request completes as cancelled rather than failed.
    if (name === 'AbortError' || err instanceof UnreadableFileError) return err as Error;
    if (name === 'NoSuchBucket') {
      return new StoreError(`bucket "${this.location.bucket}" does not exist at ${this.endpoint}; create it or fix COURIER_STORE`, 'NotFound');
    }
    if (CREDENTIAL_ERRORS.has(name) || status === 403) {
      return new StoreError(
        `${this.endpoint} refused the credentials for bucket "${this.location.bucket}" (${name || status}) while trying to ${action}; check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY`,
        'BadInput',
      );
    }
    if (NETWORK_CODES.has(code) || name === 'TimeoutError') {
      return new Error(`cannot reach the S3 endpoint ${this.endpoint} to ${action}: ${code || name}; will retry`);
    }
    return new Error(`S3 ${action} failed at ${this.endpoint}: ${name ? `${name}: ` : ''}${(err as Error).message}`);
  }

  /**
   * Sends a request whose body streams from a file. The SDK cannot retry a
   * streamed body, so transient trouble is tried again here with a fresh
   * stream, a few times with a short backoff, before the step fails.
   */
  private async sendBody<T>(signal: AbortSignal | undefined, send: (abortSignal?: AbortSignal) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await send(signal);
      } catch (err) {
        if (attempt >= BODY_ATTEMPTS || !isTransient(err) || signal?.aborted) throw err;
        await new Promise((resolve) => setTimeout(resolve, 200 * 2 ** (attempt - 1) * (0.5 + Math.random())));
      }
    }
  }

  /**
   * sendBody with a fresh read of the file as each attempt's body. The file
   * and the body are joined with pipeline, not pipe, so a body the SDK gives
   * up on closes its file; and the SDK does not watch its body for errors,
   * so a file that cannot be read aborts the request (before, its error was
   * uncaught and took the worker down, or the request waited for bytes that
   * never came).
   */
  private sendFile<T>(
    file: string,
    range: { start: number; length: number } | undefined,
    options: { signal?: AbortSignal; onProgress?: (bytes: number) => void },
    send: (body: Readable, abortSignal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    return this.sendBody(options.signal, async (signal) => {
      const controller = new AbortController();
      const onAbort = () => controller.abort(signal?.reason);
      if (signal?.aborted) onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      const source =
        range?.length === 0
          ? Readable.from([])
          : createReadStream(file, { ...(range && { start: range.start, end: range.start + range.length - 1 }), highWaterMark: 1024 * 1024 });
      let unreadable: Error | undefined;
      source.once('error', (err: Error) => {
        unreadable = err;
        controller.abort(err);
      });
      const body = progressCounter(options.onProgress);
      pipeline(source, body).catch(() => undefined);
      try {
        return await send(body, controller.signal);
      } catch (err) {
        if (unreadable) throw new UnreadableFileError(`cannot read ${file} to upload it: ${unreadable.message}`);
        throw err;
      } finally {
        signal?.removeEventListener('abort', onAbort);
        body.destroy();
      }
    });
  }

  async spoolPath(kind: string): Promise<string> {
    return path.join(os.tmpdir(), `courier-s3-${randomUUID()}.${kind}`);
  }

  async put(key: string, body: Readable, options: PutOptions = {}): Promise<CheckedObject> {
    // S3 needs the length and checksum before the body: spool to a temp file, then upload that.
    const spool = await this.spoolPath('put');
    try {
      await pipeline(body, (await fs.open(spool, 'w')).createWriteStream());
      return await this.putFile(key, spool, options);
    } finally {
      await fs.rm(spool, { force: true });
    }
  }

  async putFile(key: string, file: string, options: PutOptions = {}): Promise<CheckedObject> {
    const objectKey = this.objectKey(key);
    const { size } = await fs.stat(file);
    if (options.expectedSize !== undefined && options.expectedSize !== size) {
      throw new ChecksumMismatchError(key, `${options.expectedSize} bytes`, `${size} bytes`);
    }
    let sha256 = options.expectedSha256;
    let md5 = options.expectedMd5;
    if (!sha256 || (options.md5 && !md5)) {
      const hashed = await hashFile({ file, algorithms: options.md5 ? ['sha256', 'md5'] : ['sha256'] }, { signal: options.signal });
      sha256 = hashed.digests.sha256!;
      md5 = hashed.digests.md5;
    }
    try {
      await this.sendFile(file, undefined, options, (body, abortSignal) =>
        this.client.send(
          new PutObjectCommand({
            Bucket: this.location.bucket,
            Key: objectKey,
            Body: body,
            ContentLength: size,
            ChecksumSHA256: hexToBase64(sha256),
            ...(options.md5 && md5 ? { ContentMD5: hexToBase64(md5) } : {}),
            Metadata: { sha256, ...(md5 ? { md5 } : {}) },
          }),
          { abortSignal },
        ),
      );
    } catch (err) {
      if (DIGEST_ERRORS.has((err as Error).name)) {
        throw new ChecksumMismatchError(key, `sha256 ${sha256}`, `a different checksum computed by ${this.endpoint} (${(err as Error).name})`);
      }
      throw this.translate(err, `upload ${objectKey}`);
    }
    return { key, size, sha256, ...(md5 ? { md5 } : {}) };
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const objectKey = this.objectKey(key);
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.location.bucket, Key: objectKey, ChecksumMode: 'ENABLED' }));
      const checksum = head.ChecksumSHA256;
      const sha256 = checksum && !checksum.includes('-') ? base64ToHex(checksum) : undefined;
      // The ETag of an object uploaded whole is its md5, computed by the server; a multipart ETag ends in -N.
      const md5 = /^"?([0-9a-f]{32})"?$/.exec(head.ETag ?? '')?.[1];
      const composite = checksum?.includes('-') ? checksum : undefined;
      return {
        key,
        size: head.ContentLength ?? 0,
        ...(sha256 ? { sha256 } : {}),
        ...(md5 ? { md5 } : {}),
        ...(composite ? { compositeSha256: composite } : {}),
      };
    } catch (err) {
      const status = err instanceof S3ServiceException ? err.$metadata.httpStatusCode : undefined;
      if ((err as Error).name === 'NotFound' || (err as Error).name === 'NoSuchKey' || status === 404) return undefined;
      throw this.translate(err, `look up ${objectKey}`);
    }
  }

  /** Where the server reports no sha256, the object is read back and hashed: the metadata courier wrote proves nothing about the bytes. */
  async checksums(key: string, options: Pick<GetOptions, 'signal'> = {}): Promise<CheckedObject | undefined> {
    const info = await this.head(key);
    if (!info || info.sha256) return info as CheckedObject | undefined;
    const sha256 = createHash('sha256');
    const md5 = createHash('md5');
    let size = 0;
    try {
      for await (const chunk of await this.get(key, options)) {
        sha256.update(chunk as Buffer);
        md5.update(chunk as Buffer);
        size += (chunk as Buffer).length;
      }
    } catch (err) {
      if (err instanceof ObjectNotFoundError) return undefined;
      throw err;
    }
    return { ...info, size, sha256: sha256.digest('hex'), md5: md5.digest('hex') };
  }

  async get(key: string, options: GetOptions = {}): Promise<Readable> {
    const objectKey = this.objectKey(key);
    try {
      const range = options.range ? `bytes=${options.range.start}-${options.range.start + options.range.length - 1}` : undefined;
      if (options.range?.length === 0) return Readable.from([]);
      const response = await this.client.send(new GetObjectCommand({ Bucket: this.location.bucket, Key: objectKey, Range: range }), {
        abortSignal: options.signal,
      });
      return response.Body as Readable;
    } catch (err) {
      if ((err as Error).name === 'NoSuchKey' || (err as Error).name === 'NotFound') throw new ObjectNotFoundError(key, this.description);
      throw this.translate(err, `read ${objectKey}`);
    }
  }

  async getInto(key: string, range: { start: number; length: number }, into: Buffer, options: Pick<GetOptions, 'signal'> = {}): Promise<number> {
    const target = into.subarray(0, range.length);
    for (let attempt = 1; ; attempt++) {
      let at = 0;
      try {
        // Read to its end: an HTTP body cut short logs errors.
        for await (const part of await this.get(key, { ...options, range })) at += (part as Buffer).copy(target, at);
        return at;
      } catch (err) {
        // A body cut off mid-stream is past the SDK's retries: the range is asked for again, a few times, before the step fails.
        if (attempt >= READ_ATTEMPTS || !isInterruptedRead(err)) throw err;
      }
    }
  }

  /** Each read is a ranged GET of its own: HTTP holds nothing open between them. */
  async openRanges(key: string, options: Pick<GetOptions, 'signal'> = {}): Promise<RangeReader> {
    return { read: (range, into) => this.getInto(key, range, into, options), close: async () => undefined };
  }

  async list(prefix: string): Promise<ListedObject[]> {
    const found: ListedObject[] = [];
    let token: string | undefined;
    do {
      let page;
      try {
        page = await this.client.send(
          new ListObjectsV2Command({ Bucket: this.location.bucket, Prefix: `${this.location.prefix}${prefix}`, ContinuationToken: token }),
        );
      } catch (err) {
        throw this.translate(err, `list ${prefix}`);
      }
      for (const object of page.Contents ?? []) found.push({ key: object.Key!.slice(this.location.prefix.length), size: object.Size ?? 0 });
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return found.sort((a, b) => a.key.localeCompare(b.key));
  }

  async delete(key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.location.bucket, Key: this.objectKey(key) }));
    } catch (err) {
      throw this.translate(err, `delete ${key}`);
    }
  }

  /** An upload already open for the key is reused, so a retried start never leaves an orphan. */
  async startMultipart(key: string): Promise<string> {
    const objectKey = this.objectKey(key);
    const open = (await this.listMultipartUploads(key)).filter((upload) => upload.key === key);
    if (open.length > 0) return open[open.length - 1].uploadId;
    try {
      const created = await this.client.send(
        new CreateMultipartUploadCommand({ Bucket: this.location.bucket, Key: objectKey, ChecksumAlgorithm: 'SHA256' }),
      );
      return created.UploadId!;
    } catch (err) {
      throw this.translate(err, `start a multipart upload of ${objectKey}`);
    }
  }

  async uploadPart(
    key: string,
    uploadId: string,
    partNumber: number,
    bytes: PartBytes,
    options: { sha256: string; md5?: string; signal?: AbortSignal; onProgress?: (bytes: number) => void },
  ): Promise<UploadedPart> {
    const objectKey = this.objectKey(key);
    try {
      const uploaded = await this.sendFile(bytes.file, { start: bytes.start ?? 0, length: bytes.length }, options, (body, abortSignal) =>
        this.client.send(
          new UploadPartCommand({
            Bucket: this.location.bucket,
            Key: objectKey,
            UploadId: uploadId,
            PartNumber: partNumber,
            Body: body,
            ContentLength: bytes.length,
            ChecksumSHA256: hexToBase64(options.sha256),
            ...(options.md5 ? { ContentMD5: hexToBase64(options.md5) } : {}),
          }),
          { abortSignal },
        ),
      );
      return {
        partNumber,
        size: bytes.length,
        etag: uploaded.ETag!,
        sha256: uploaded.ChecksumSHA256 ? base64ToHex(uploaded.ChecksumSHA256) : undefined,
      };
    } catch (err) {
      if (DIGEST_ERRORS.has((err as Error).name)) {
        throw new ChecksumMismatchError(`${key} part ${partNumber}`, `sha256 ${options.sha256}`, `a different checksum computed by ${this.endpoint}`);
      }
      throw this.translate(err, `upload part ${partNumber} of ${objectKey}`);
    }
  }

  async findPart(key: string, uploadId: string, partNumber: number): Promise<UploadedPart | undefined> {
    const page = await this.partsPage(key, uploadId, String(partNumber - 1), 1);
    return page.parts.find((part) => part.partNumber === partNumber);
  }

  async listParts(key: string, uploadId: string): Promise<UploadedPart[]> {
    const parts: UploadedPart[] = [];
    let marker: string | undefined;
    do {
      const page = await this.partsPage(key, uploadId, marker, 1000);
      parts.push(...page.parts);
      marker = page.next;
    } while (marker);
    return parts;
  }

  private async partsPage(key: string, uploadId: string, marker: string | undefined, max: number) {
    const objectKey = this.objectKey(key);
    try {
      const page = await this.client.send(
        new ListPartsCommand({ Bucket: this.location.bucket, Key: objectKey, UploadId: uploadId, PartNumberMarker: marker, MaxParts: max }),
      );
      const parts = (page.Parts ?? []).map((part) => ({
        partNumber: part.PartNumber!,
        size: part.Size ?? 0,
        etag: part.ETag!,
        sha256: part.ChecksumSHA256 ? base64ToHex(part.ChecksumSHA256) : undefined,
      }));
      return { parts, next: page.IsTruncated ? String(page.NextPartNumberMarker) : undefined };
    } catch (err) {
      if ((err as Error).name === 'NoSuchUpload') {
        throw new StoreError(`multipart upload ${uploadId} of ${objectKey} no longer exists at ${this.endpoint}; back the file up again`, 'PartLost');
      }
      throw this.translate(err, `list the parts of ${objectKey}`);
    }
  }

  async completeMultipart(key: string, uploadId: string, parts: UploadedPart[]): Promise<{ size?: number; compositeSha256?: string }> {
    const objectKey = this.objectKey(key);
    try {
      const done = await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.location.bucket,
          Key: objectKey,
          UploadId: uploadId,
          MultipartUpload: {
            Parts: parts.map((part) => ({
              PartNumber: part.partNumber,
              ETag: part.etag,
              ...(part.sha256 ? { ChecksumSHA256: hexToBase64(part.sha256) } : {}),
            })),
          },
        }),
      );
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.location.bucket, Key: objectKey, ChecksumMode: 'ENABLED' }));
      return { size: head.ContentLength, compositeSha256: done.ChecksumSHA256 ?? head.ChecksumSHA256 };
    } catch (err) {
      throw this.translate(err, `complete the multipart upload of ${objectKey}`);
    }
  }

  async abortMultipart(key: string, uploadId: string): Promise<void> {
    try {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.location.bucket, Key: this.objectKey(key), UploadId: uploadId }));
    } catch (err) {
      if ((err as Error).name === 'NoSuchUpload') return;
      throw this.translate(err, `abort the multipart upload of ${key}`);
    }
  }

  async listMultipartUploads(prefix: string): Promise<{ key: string; uploadId: string }[]> {
    try {
      const page = await this.client.send(
        new ListMultipartUploadsCommand({ Bucket: this.location.bucket, Prefix: `${this.location.prefix}${prefix}` }),
      );
      return (page.Uploads ?? []).map((upload) => ({ key: upload.Key!.slice(this.location.prefix.length), uploadId: upload.UploadId! }));
    } catch (err) {
      throw this.translate(err, `list multipart uploads under ${prefix}`);
    }
  }
}
