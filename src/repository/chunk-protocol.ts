import type { RepositoryRecipe } from './recipe';

/** A backup reads the source in windows of this size, plus the chunk that may straddle the window's end. */
export const WINDOW = 2 * 1024 * 1024;

/** The bytes a window of [start, end) takes: what `cut` reads, and the size of the buffer it reads into. */
export const windowLength = (recipe: RepositoryRecipe, start: number, end: number) => Math.min(end - start, WINDOW + recipe.chunker.max);

/** The sealed size of `raw` bytes cut into at most `chunks` chunks, at worst: raw bytes, framed and tagged. */
export const sealedBound = (raw: number, chunks: number) => raw + chunks * 64;

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
    };

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

export type ThreadReply = { seq: number } & (CutReply | SealReply | OpenReply | { error: { message: string; code?: string } });
