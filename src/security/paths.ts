/**
 * The one path policy. Every activity that touches a path a message named
 * resolves it here: symlinks followed to where they really lead, and refused
 * unless that lies inside one of the roots configured for the purpose.
 */
import { randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';

/** What a path is for, and the setting whose roots it must stay inside. */
export interface Roots {
  /** The message field the path came from, e.g. `source` or `payload.files[2]`. */
  field: string;
  /** Real directories; a path must resolve inside one of them. */
  dirs: string[];
  /** The setting that lists them, for the message that says what to change. */
  setting: string;
}

/** A path the policy refuses: never retried, it names the field, the path and the roots. */
export class PathRefused extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'PathRefused';
  }
}

export function isInside(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith(`..${path.sep}`) && rel !== '..' && !path.isAbsolute(rel));
}

const refuse = (roots: Roots, given: string, why: string) =>
  new PathRefused(roots.field, `${roots.field} ${JSON.stringify(given)} ${why}; allowed: ${roots.dirs.join(', ') || 'nothing'} (${roots.setting})`);

/** A path that is inside its roots but cannot be used: the roots are beside the point. */
const unusable = (roots: Roots, given: string, why: string) => new PathRefused(roots.field, `${roots.field} ${JSON.stringify(given)} ${why}`);

/** Follows every symlink of the path; for a path not there yet, of its directory. */
async function realPath(given: string, mustExist: boolean): Promise<string> {
  try {
    return await fs.realpath(given);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || mustExist) throw err;
    return path.join(await fs.realpath(path.dirname(given)), path.basename(given));
  }
}

/**
 * Where a path a message named really leads, once it is checked: absolute, no
 * NUL, and inside a root both as written and once its symlinks are resolved.
 * `mustExist: false` allows a file not there yet (its directory must be).
 */
export async function resolveInside(given: string, roots: Roots, options: { mustExist: boolean }): Promise<string> {
  if (given.includes('\0')) throw refuse(roots, given.replace(/\0/g, '\\0'), 'contains a NUL byte');
  if (!path.isAbsolute(given)) throw refuse(roots, given, 'is not an absolute path');
  if (!roots.dirs.some((root) => isInside(path.resolve(given), root))) throw refuse(roots, given, 'is outside the allowed roots');
  let real: string;
  try {
    real = await realPath(given, options.mustExist);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR')
      throw unusable(roots, given, options.mustExist ? 'does not exist' : 'is in a directory that does not exist');
    if (code === 'ENAMETOOLONG') throw unusable(roots, given, 'is too long a name for this file system');
    if (code === 'EACCES') throw unusable(roots, given, 'cannot be reached: permission denied');
    if (code === 'ELOOP') throw unusable(roots, given, 'is a loop of symbolic links');
    throw err;
  }
  const realRoots = await Promise.all(roots.dirs.map((root) => fs.realpath(root).catch(() => root)));
  if (!realRoots.some((root) => isInside(real, root)))
    throw refuse(roots, given, `leads to ${real} (through a symbolic link), outside the allowed roots`);
  return real;
}

/**
 * Opens a checked path for reading and checks what was actually opened: a
 * symbolic link swapped in for the file after the check is not followed, and
 * a directory on the way swapped for a link shows in the descriptor's own path.
 * Read through `/proc/self/fd/N` (hashing threads too) and the bytes are those of this file.
 */
export async function openInside(real: string, roots: Roots): Promise<{ handle: fs.FileHandle; via: string }> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(real, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') throw refuse(roots, real, 'was swapped for a symbolic link after it was checked');
    throw err;
  }
  const via = `/proc/self/fd/${handle.fd}`;
  try {
    const opened = await fs.readlink(via);
    const realRoots = await Promise.all(roots.dirs.map((root) => fs.realpath(root).catch(() => root)));
    if (!realRoots.some((root) => isInside(opened, root)))
      throw refuse(roots, real, `was swapped for ${opened} after it was checked, outside the allowed roots`);
    return { handle, via };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/**
 * Creates a new file beside a checked destination: exclusively and without
 * following links, under a random name, so nothing planted there in advance
 * can redirect the write.
 */
export async function createBeside(real: string, tag: string, mode = 0o600): Promise<{ path: string; handle: fs.FileHandle }> {
  const random = randomUUID().slice(0, 12);
  const temp = path.join(path.dirname(real), `.${path.basename(real)}.${tag}-${random}`);
  const handle = await fs.open(temp, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
  return { path: temp, handle };
}

/**
 * Makes the directories a checked destination needs, after checking that the
 * nearest one already there really lies inside a root (a symbolic link there
 * must not make mkdir create directories elsewhere), and checks the result again.
 */
export async function makeDirInside(dir: string, roots: Roots): Promise<void> {
  const root = roots.dirs.find((r) => isInside(path.resolve(dir), r));
  if (!root) throw refuse(roots, dir, 'is outside the allowed roots');
  // The root itself is the operator's to name; it is made if missing.
  await fs.mkdir(root, { recursive: true });
  let existing = path.resolve(dir);
  while (
    existing !== root &&
    !(await fs.lstat(existing).then(
      () => true,
      () => false,
    ))
  )
    existing = path.dirname(existing);
  await resolveInside(existing, roots, { mustExist: true });
  await fs.mkdir(dir, { recursive: true });
  await resolveInside(dir, roots, { mustExist: true });
}
