import { createHash, type Hash } from 'node:crypto';
import fs from 'node:fs';
import type { HashPieceReply, HashPieceRequest } from '../repository/chunk-protocol';

export type HashAlgorithm = 'sha256' | 'md5';

/** 1 MiB reads hash as fast as 4 MiB ones, and the buffer lives as long as the thread. */
const READ_BYTES = 1024 * 1024;

/**
 * The hashing half of a chunk thread: running hashes by stream, fed piece by
 * piece from files read through the thread's one buffer. The thread's own
 * module state, so it imports nothing but node.
 */
export class HashStreams {
  private readonly streams = new Map<number, { hashes: Hash[]; algorithms: HashAlgorithm[] }>();
  private buffer: Buffer | undefined;

  piece({ stream, file, start, length, algorithms, last }: HashPieceRequest): HashPieceReply {
    let running = this.streams.get(stream);
    if (!running) this.streams.set(stream, (running = { hashes: algorithms.map((a) => createHash(a)), algorithms }));
    let size = 0;
    try {
      if (length > 0) size = this.feed(running.hashes, file, start, length);
    } catch (err) {
      // A stream that missed bytes can never be right again.
      this.streams.delete(stream);
      throw err;
    }
    if (!last && size === length) return { size };
    this.streams.delete(stream);
    return { size, digests: Object.fromEntries(running.algorithms.map((a, i) => [a, running.hashes[i]!.digest('hex')])) };
  }

  private feed(hashes: Hash[], file: string, start: number, length: number): number {
    const buffer = (this.buffer ??= Buffer.allocUnsafeSlow(READ_BYTES));
    const fd = fs.openSync(file, 'r');
    try {
      let size = 0;
      while (size < length) {
        const read = fs.readSync(fd, buffer, 0, Math.min(buffer.length, length - size), start + size);
        if (read === 0) break;
        const view = buffer.subarray(0, read);
        for (const hash of hashes) hash.update(view);
        size += read;
      }
      return size;
    } finally {
      fs.closeSync(fd);
    }
  }
}
