import { POOL_UNIT } from './buffer-pool';
import type { HashAlgorithm } from '../hashing/hash-piece';
import type { RepositoryRecipe } from './recipe';

/**
 * A window's bytes, and the sealed batch of all its chunks, each fit one
 * pool block of this size: a window of 2 MiB plus a chunk took 3 MiB
 * blocks, a third of them never used. A backup or restore holds three or four
 * blocks per range in flight (see ChunkThreads.rangesAtOnce): 1 MiB blocks
 * instead of 2 took the snapshots bench's host worker from 194-199 to
 * 188-194 MiB after 10 GiB, first backup of 1 GiB 0.90x restic's time.
 */
const WINDOW_BLOCK = POOL_UNIT;
/**
 * Each window moves the cut on by at least this much, whatever the
 * chunker's maximum: the window's last chunk is cut again by the next one, so
 * a window much larger than a chunk reads and cuts few bytes twice.
 */
const MIN_ADVANCE = 768 * 1024;
/** What sealing adds to a chunk at most: framing, nonce and tag. */
const SEAL_OVERHEAD = 64;

/** The bytes a window of [start, end) takes: what `cut` reads, and the size of the buffer it reads into. */
export const windowLength = (recipe: RepositoryRecipe, start: number, end: number) => {
  const { min, max } = recipe.chunker;
  const fitsBlock = WINDOW_BLOCK - Math.ceil(WINDOW_BLOCK / min) * SEAL_OVERHEAD;
  return Math.min(end - start, Math.max(fitsBlock, MIN_ADVANCE + max));
};

/** The sealed size of `raw` bytes cut into at most `chunks` chunks, at worst: raw bytes, framed and tagged. */
export const sealedBound = (raw: number, chunks: number) => raw + chunks * SEAL_OVERHEAD;

/** Messages between the event loop and a chunk thread; `seq` pairs a reply with its request. */
export type ThreadRequest =
  | { op: 'cut'; seq: number; recipe: RepositoryRecipe; fd: number; start: number; end: number; into: Uint8Array }
  | {
      op: 'seal';
      seq: number;
      recipe: RepositoryRecipe;
      bytes: Uint8Array;
      items: [offset: number, length: number, id: string, tryCompress: boolean][];
      /** Where the sealed chunks go, when they fit (a buffer of the caller's pool). */
      into: Uint8Array;
    }
  | {
      op: 'open';
      seq: number;
      recipe: RepositoryRecipe;
      fd: number;
      bytes: Uint8Array;
      items: [at: number, length: number, id: string, raw: number, position: number][];
    }
  | ({ op: 'hash'; seq: number } & HashPieceRequest);

/**
 * Bytes [start, start + length) of a file, added to the thread's running hash
 * `stream` (a new one if the thread has none by that id). With `last`, or
 * when the file ends before `length`, the stream ends and its digests come
 * back. A stream lives on one thread: its pieces all go there.
 */
export interface HashPieceRequest {
  stream: number;
  file: string;
  start: number;
  length: number;
  algorithms: HashAlgorithm[];
  last: boolean;
}

/** `size`: the bytes of this piece hashed; `digests` once the stream ended. */
export interface HashPieceReply {
  size: number;
  digests?: Partial<Record<HashAlgorithm, string>>;
}

export interface CutReply {
  ids: string[];
  lengths: number[];
  /** Bytes from `start` the chunks cover. */
  consumed: number;
  /** The window read, chunks and all. */
  bytes: Uint8Array;
}

export interface SealReply {
  bytes: Uint8Array;
  /** The window sealed from, handed back for reuse. */
  window: Uint8Array;
  lengths: number[];
  compressed: boolean[];
}

export type OpenOutcome = { written: true } | { damaged: { item: number; reason: string } };

/** `bytes`: the sealed bytes opened, handed back for reuse. */
export type OpenReply = OpenOutcome & { bytes: Uint8Array };

/** `external`: what the thread's isolate held outside its heap as it answered. */
export type ThreadReply = { seq: number; external: number } & (
  CutReply | SealReply | OpenReply | HashPieceReply | { error: { message: string; code?: string } }
);
