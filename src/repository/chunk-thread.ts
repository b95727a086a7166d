/**
 * The body of a chunk thread: cuts, names, seals and opens chunks, so the
 * event loop only decides what is new and moves packs, and hashes files. File
 * descriptors belong to the process, so the thread reads and writes chunks
 * through ones the main thread opened and checked. It imports nothing but
 * the chunker, the sealer, the hasher and its collector: every thread is an
 * isolate of its own.
 */
import fs from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { HashStreams } from '../hashing/hash-piece';
import { toolsFrom, type RepositoryRecipe, type RepositoryTools } from './recipe';
import { DamagedObject } from './seal';
import { externalMemory, requestCollector } from './thread-memory';
import { windowLength, type CutReply, type OpenOutcome, type SealReply, type ThreadReply, type ThreadRequest } from './chunk-protocol';

const tools = new Map<string, RepositoryTools>();
const toolsOf = (recipe: RepositoryRecipe) => {
  let found = tools.get(recipe.id);
  if (!found) tools.set(recipe.id, (found = toolsFrom(recipe)));
  return found;
};

class SourceShort extends Error {
  readonly code = 'SourceShort';
}

function readFully(fd: number, into: Buffer, length: number, position: number): void {
  let have = 0;
  while (have < length) {
    const read = fs.readSync(fd, into, have, length - have, position + have);
    if (read === 0) throw new SourceShort(`the source ended at byte ${position + have}, before ${position + length}`);
    have += read;
  }
}

/**
 * Chunks from `start` until the window ends or `end`: the last chunk of a
 * window that is not the segment's end is left to the next window. The bytes
 * go back with the ids, so what is sealed later is exactly what was named,
 * whatever happens to the file meanwhile.
 */
function cut(recipe: RepositoryRecipe, fd: number, start: number, end: number, into: Uint8Array): [CutReply, ArrayBuffer[]] {
  const { chunker, sealer } = toolsOf(recipe);
  const length = windowLength(recipe, start, end);
  const data = within(into, length);
  readFully(fd, data, length, start);
  const atEnd = start + length >= end;
  const ids: string[] = [];
  const lengths: number[] = [];
  let at = 0;
  while (at < length && (atEnd || length - at >= chunker.params.max)) {
    const size = chunker.cut(data, at, length - at);
    ids.push(sealer.idOf(data.subarray(at, at + size)));
    lengths.push(size);
    at += size;
  }
  return [{ ids, lengths, consumed: at, bytes: data }, movedBack(data.buffer)];
}

/** The first `length` bytes of the caller's buffer, or a new one when it is too small. */
const within = (into: Uint8Array, length: number) =>
  into.byteLength >= length ? Buffer.from(into.buffer, into.byteOffset, length) : Buffer.allocUnsafeSlow(length);

/** The chunks named, sealed into one buffer that moves to the main thread without a copy. */
function seal(
  recipe: RepositoryRecipe,
  data: Buffer,
  items: [offset: number, length: number, id: string, tryCompress: boolean][],
  into: Uint8Array,
): [SealReply, ArrayBuffer[]] {
  const { sealer } = toolsOf(recipe);
  const sealed = items.map(([offset, length, id, tryCompress]) => sealer.sealPartsSync(data.subarray(offset, offset + length), id, tryCompress));
  const out = within(
    into,
    sealed.reduce((n, s) => n + s.length, 0),
  );
  let at = 0;
  for (const s of sealed) for (const part of s.parts) at += part.copy(out, at);
  const reply = { bytes: out, window: data, lengths: sealed.map((s) => s.length), compressed: sealed.map((s) => s.compressed) };
  return [reply, movedBack(out.buffer, data.buffer)];
}

/** The buffers a reply must transfer: only those this thread made; the pool's blocks are shared and go back as they are. */
const movedBack = (...buffers: ArrayBufferLike[]) => [...new Set(buffers)].filter((b): b is ArrayBuffer => !(b instanceof SharedArrayBuffer));

/** What is left of `parts` after its first `skip` bytes (writev may write less than asked). */
function remaining(parts: Buffer[], skip: number): Buffer[] {
  const rest: Buffer[] = [];
  for (const part of parts) {
    if (skip >= part.length) skip -= part.length;
    else {
      rest.push(skip > 0 ? part.subarray(skip) : part);
      skip = 0;
    }
  }
  return rest;
}

function writeAll(fd: number, parts: Buffer[], position: number, length: number): void {
  let written = 0;
  while (written < length) written += fs.writevSync(fd, written === 0 ? parts : remaining(parts, written), position + written);
}

/** Opens each chunk of `bytes`, checks it against its id, and writes chunks that follow each other in the file with one call. */
function open(
  recipe: RepositoryRecipe,
  fd: number,
  bytes: Buffer,
  items: [at: number, length: number, id: string, raw: number, position: number][],
): OpenOutcome {
  const { sealer } = toolsOf(recipe);
  let run: Buffer[] = [];
  let runAt = 0;
  let runEnd = 0;
  for (let i = 0; i < items.length; i++) {
    const [at, length, id, raw, position] = items[i]!;
    let plain: Buffer;
    try {
      plain = sealer.openSync(bytes.subarray(at, at + length), id, `chunk ${id}`);
    } catch (err) {
      if (err instanceof DamagedObject) return { damaged: { item: i, reason: err.reason } };
      throw err;
    }
    const mismatch = sealer.chunkMismatch(plain, id, raw, { wholeFileChecked: true });
    if (mismatch) return { damaged: { item: i, reason: mismatch } };
    if (run.length > 0 && position !== runEnd) {
      writeAll(fd, run, runAt, runEnd - runAt);
      run = [];
    }
    if (run.length === 0) runAt = runEnd = position;
    run.push(plain);
    runEnd += plain.length;
  }
  if (run.length > 0) writeAll(fd, run, runAt, runEnd - runAt);
  return { written: true };
}

const hashes = new HashStreams();

function answer(request: ThreadRequest): [object, ArrayBuffer[]] {
  if (request.op === 'hash') return [hashes.piece(request), []];
  if (request.op === 'cut') return cut(request.recipe, request.fd, request.start, request.end, request.into);
  const bytes = Buffer.from(request.bytes.buffer, request.bytes.byteOffset, request.bytes.byteLength);
  if (request.op === 'seal') return seal(request.recipe, bytes, request.items, request.into);
  // The bytes go back with the outcome, for the pool.
  return [{ ...open(request.recipe, request.fd, bytes, request.items), bytes }, movedBack(bytes.buffer)];
}

const collect = requestCollector();

parentPort!.on('message', (request: ThreadRequest) => {
  let transfer: ArrayBuffer[] = [];
  let body: object;
  try {
    [body, transfer] = answer(request);
  } catch (err) {
    const { message, code } = err as NodeJS.ErrnoException;
    body = { error: { message, ...(code ? { code } : {}) } };
  }
  parentPort!.postMessage({ seq: request.seq, external: externalMemory(), ...body } as ThreadReply, transfer);
  // While the event loop takes the reply: the output goes before the next request makes more. A cut or a hash leaves only ids behind.
  if (request.op === 'seal' || request.op === 'open') collect();
});
