import type { RepositoryRecipe } from './recipe';

/** Messages between the event loop and a chunk thread; `seq` pairs a reply with its request. */
export type ThreadRequest =
  | { op: 'cut'; seq: number; recipe: RepositoryRecipe; fd: number; start: number; end: number }
  | {
      op: 'seal';
      seq: number;
      recipe: RepositoryRecipe;
      bytes: Uint8Array;
      items: [offset: number, length: number, id: string, tryCompress: boolean][];
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
  lengths: number[];
  compressed: boolean[];
}

export type OpenReply = { written: true } | { damaged: { item: number; reason: string } };

export type ThreadReply = { seq: number } & (CutReply | SealReply | OpenReply | { error: { message: string; code?: string } });
