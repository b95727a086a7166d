import fs from 'node:fs/promises';
import path from 'node:path';
import { log } from '@temporalio/activity';
import picomatch from 'picomatch';
import { STAGE_DIRS, taggedName, type StageDir } from '../layout';
import { hashFile } from '../../../hashing/hash-file';
import { EtlConfigError, type Pipeline } from '../pipelines';
import { readRows, RecordError } from '../records';
import type { ActivityDeps } from '../../../activities/deps';
import { errnoCode, permanent } from '../../../activities/failures';
import { PathRefused, resolveInside } from '../../../security/paths';
import { sourceRoots } from '../../../security/roots';
import { heartbeatWhile, throttledHeartbeat } from '../../../activities/heartbeat';

/** The pipeline as the worker's pipeline file says now; a missing file or pipeline is not retried. */
export function pipelineFor(deps: ActivityDeps, name: string): Pipeline {
  try {
    return deps.pipelines.pipeline(name);
  } catch (err) {
    if (err instanceof EtlConfigError) throw permanent('NotConfigured', err.message);
    throw err;
  }
}

/** A file in a stage directory; names come from the workflow and never leave the ETL root. */
export function stagePath(deps: ActivityDeps, dir: StageDir, name: string): string {
  if (name !== path.basename(name) || name.startsWith('.')) throw permanent('BadInput', `"${name}" is not a plain file name`);
  return path.join(deps.config.etl.root, dir, name);
}

export async function exists(file: string): Promise<boolean> {
  return fs.stat(file).then(
    () => true,
    () => false,
  );
}

/** The file's sha256 and size, on the hashing threads, heartbeating as it goes. */
async function hashed(file: string): Promise<{ sha256: string; size: number }> {
  const beat = throttledHeartbeat<{ file: string; bytes: number }>();
  const { digests, size } = await hashFile({ file, algorithms: ['sha256'] }, { onProgress: (bytes) => beat({ file, bytes }) });
  return { sha256: digests.sha256!, size };
}

export interface SourceFile {
  path: string;
  /** Its name inside the ETL tree, tagged with its content hash. */
  name: string;
  size: number;
  sha256: string;
}

/**
 * The acceptable files of a source: the file itself, or the regular files of a
 * directory (not descending) whose names match the patterns. Hidden files and
 * files still being written by an editor (~, .part, .tmp) are left alone.
 */
export async function listEtlSources(deps: ActivityDeps, input: { pipeline: string; source: string; patterns?: string[] }): Promise<SourceFile[]> {
  const pipeline = pipelineFor(deps, input.pipeline);
  const matches = picomatch(input.patterns ?? pipeline.patterns, { dot: false });
  let source: string;
  try {
    source = await resolveInside(input.source, sourceRoots(deps.config, 'source'), { mustExist: true });
  } catch (err) {
    if (err instanceof PathRefused && /does not exist/.test(err.message))
      throw permanent('NotFound', `ETL source ${input.source} does not exist; check the path (it is read on the worker's machine)`);
    throw err;
  }
  const stat = await fs.stat(source);
  // Only regular files: a symbolic link in the directory is not followed out of it.
  const candidates = stat.isDirectory()
    ? (await fs.readdir(source, { withFileTypes: true }))
        .filter((e) => e.isFile())
        .map((e) => path.join(source, e.name))
        .sort()
    : [source];
  const files: SourceFile[] = [];
  for (const file of candidates) {
    const base = path.basename(file);
    if (base.startsWith('.') || /(~|\.part|\.tmp)$/.test(base) || !matches(base)) continue;
    const { sha256, size } = await hashed(file);
    files.push({ path: file, name: taggedName(file, sha256), size, sha256 });
  }
  log.info('ETL source pruned', { source: input.source, accepted: files.length, seen: candidates.length });
  return files;
}

/**
 * Copies (or, for the drop folder, moves) a source file into E/working. The
 * copy lands under a temporary name and is renamed, so E/working never holds
 * half a file; a retry after the source was moved finds the file in place.
 */
export async function extractEtlFile(deps: ActivityDeps, input: { file: SourceFile; dir: StageDir; move: boolean }): Promise<void> {
  const target = stagePath(deps, input.dir, input.file.name);
  if (!(await exists(input.file.path))) {
    if (await exists(target)) return;
    throw permanent('NotFound', `ETL source ${input.file.path} is gone and ${target} does not hold it; submit it again`);
  }
  await fs.mkdir(path.dirname(target), { recursive: true });
  if (input.move) {
    try {
      await fs.rename(input.file.path, target);
      return;
    } catch (err) {
      if (errnoCode(err) !== 'EXDEV') throw err;
    }
  }
  const temp = `${target}.${process.pid}.tmp`;
  await fs.copyFile(input.file.path, temp);
  if ((await hashed(temp)).sha256 !== input.file.sha256) {
    await fs.rm(temp, { force: true });
    throw permanent('SourceChanged', `ETL source ${input.file.path} changed while it was being extracted; drop it again once it is complete`);
  }
  await fs.rename(temp, target);
  if (input.move) await fs.rm(input.file.path, { force: true });
}

/**
 * Moves (or copies) a file between stage directories. Done when the source is
 * gone and the target is there, so a retried move is harmless: names carry the
 * content hash, so a same-named target holds the same bytes.
 */
export async function moveEtlFile(deps: ActivityDeps, input: { name: string; from: StageDir; to: StageDir; copy?: boolean }): Promise<string> {
  return heartbeatWhile({ name: input.name }, () => moveOrCopy(deps, input));
}

async function moveOrCopy(deps: ActivityDeps, input: { name: string; from: StageDir; to: StageDir; copy?: boolean }): Promise<string> {
  const from = stagePath(deps, input.from, input.name);
  const to = stagePath(deps, input.to, input.name);
  await fs.mkdir(path.dirname(to), { recursive: true });
  if (input.copy) {
    if (await exists(to)) return to;
    const temp = `${to}.${process.pid}.tmp`;
    await fs.copyFile(from, temp);
    await fs.rename(temp, to);
    return to;
  }
  try {
    await fs.rename(from, to);
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT' || !(await exists(to))) {
      if (errnoCode(err) === 'ENOENT') throw permanent('NotFound', `${from} is gone and ${to} does not hold it; was it moved by hand?`);
      throw err;
    }
  }
  return to;
}

export type Validation = { valid: true } | { valid: false; reason: string };

/**
 * E's check: the format is known, the header matches the pipeline, and the
 * records of the file's first stretch (up to 256 KiB) fit it. T checks every
 * record as it splits the file, so the file is parsed once, not in both.
 */
export async function validateEtlFile(deps: ActivityDeps, input: { pipeline: string; dir: StageDir; name: string }): Promise<Validation> {
  const pipeline = pipelineFor(deps, input.pipeline);
  const file = stagePath(deps, input.dir, input.name);
  try {
    for await (const _opening of readRows(file, pipeline)) break;
  } catch (err) {
    if (err instanceof RecordError) return { valid: false, reason: `${input.name}: ${err.message}` };
    throw err;
  }
  return { valid: true };
}

/**
 * E's steps for one file in one activity, a round trip each fewer: extract it
 * into E/working, check it, and give a valid one to T as a copy in T/working.
 * Each part is the step it stands for and finds its own work done, so a retry
 * redoes only what is missing. An invalid file stays in E/working for the
 * workflow to file and report.
 */
export async function extractAndCheckEtlFile(deps: ActivityDeps, input: { pipeline: string; file: SourceFile; move: boolean }): Promise<Validation> {
  const { name } = input.file;
  await extractEtlFile(deps, { file: input.file, dir: STAGE_DIRS.extractWorking, move: input.move });
  const check = await validateEtlFile(deps, { pipeline: input.pipeline, dir: STAGE_DIRS.extractWorking, name });
  if (check.valid) await moveEtlFile(deps, { name, from: STAGE_DIRS.extractWorking, to: STAGE_DIRS.transformWorking, copy: true });
  return check;
}
