import { processThreads, type ChunkThreads } from '../repository/chunk-threads';
import type { HashAlgorithm } from './hash-piece';

export type { HashAlgorithm } from './hash-piece';

export interface HashRequest {
  file: string;
  /** First byte to hash (default 0). */
  start?: number;
  /** Bytes to hash from start (default: to the end of the file). */
  length?: number;
  algorithms: HashAlgorithm[];
}

export interface HashResult {
  size: number;
  digests: Partial<Record<HashAlgorithm, string>>;
}

export interface HashOptions {
  signal?: AbortSignal;
  /** Called with the running byte count, about every 16 MiB. */
  onProgress?: (bytes: number) => void;
  /** The threads to hash on (default: the process's). */
  threads?: ChunkThreads;
}

/**
 * How much of a file one request to a thread hashes: a thread answers its
 * other requests (a backup's windows) between pieces, and a cancelled hash
 * stops at the next one. About 15 ms of sha256 here.
 */
const PIECE_BYTES = 16 * 1024 * 1024;

/** Hashes a file, or a byte range of it, off the main thread, on the process's chunk threads. */
export async function hashFile(request: HashRequest, options: HashOptions = {}): Promise<HashResult> {
  const { file, start = 0, length } = request;
  const stream = (options.threads ?? processThreads()).hashStream(request.algorithms);
  let size = 0;
  try {
    for (;;) {
      if (options.signal?.aborted) throw cancelled(options.signal);
      const want = length === undefined ? PIECE_BYTES : Math.min(PIECE_BYTES, length - size);
      const reply = await stream.piece(file, start + size, want, length !== undefined && size + want >= length);
      size += reply.size;
      options.onProgress?.(size);
      if (reply.digests) return { size, digests: reply.digests };
    }
  } catch (err) {
    stream.drop();
    if (options.signal?.aborted || !(err instanceof Error)) throw err;
    throw Object.assign(new Error(`hashing ${file}: ${err.message}`), { code: (err as NodeJS.ErrnoException).code });
  }
}

const cancelled = (signal: AbortSignal) => (signal.reason instanceof Error ? signal.reason : new Error('hashing cancelled'));

/** A hash fed byte ranges of a file one after another, on one chunk thread; each range is read from the file as it is now. */
export interface RunningHash {
  /** Hashes [start, start + length) next; rejects if the file holds fewer bytes there. */
  append(start: number, length: number): Promise<void>;
  /** The sha256 of everything appended, once every append before it is done. */
  digest(): Promise<string>;
  close(): void;
}

export function runningHash(file: string, threads = processThreads()): RunningHash {
  const stream = threads.hashStream(['sha256']);
  // Pieces of one stream go one after another: each waits for the one before it, and after one fails the rest fail too
  // (the thread dropped the stream; what followed would hash as a new one).
  let last: Promise<unknown> = Promise.resolve();
  let failed: Error | undefined;
  const next = <T>(step: () => Promise<T>) => {
    const done = last.then(() => {
      if (failed) throw failed;
      return step();
    });
    last = done.catch((err: Error) => (failed ??= err));
    return done;
  };
  const appendPiece = async (start: number, length: number) => {
    const { size } = await stream.piece(file, start, length, false);
    if (size !== length) throw new Error(`hashing ${file}: the file ended at byte ${start + size}, before ${start + length}`);
  };
  return {
    async append(start, length) {
      // Every piece is queued now, so the next append's come after them.
      const pieces: Promise<void>[] = [];
      for (let at = 0; at < length; at += PIECE_BYTES) pieces.push(next(() => appendPiece(start + at, Math.min(PIECE_BYTES, length - at))));
      await Promise.all(pieces);
    },
    async digest() {
      const { digests } = await next(() => stream.piece(file, 0, 0, true));
      return digests!.sha256!;
    },
    close: () => void next(async () => stream.drop()),
  };
}
