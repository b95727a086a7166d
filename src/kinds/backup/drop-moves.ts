import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * Moves a file into a directory under its own name, or `name (2)`, `name (3)`…
 * when that is taken: a link refuses to replace what is there (a rename would),
 * so a second file of the same name never overwrites the first.
 */
export async function moveInto(file: string, dir: string, name = path.basename(file)): Promise<string> {
  await fs.mkdir(dir, { recursive: true });
  for (let n = 1; ; n++) {
    const target = path.join(dir, n === 1 ? name : `${name} (${n})`);
    try {
      await fs.link(file, target);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw err;
    }
    await fs.unlink(file);
    return target;
  }
}

/**
 * Each file being backed up has a directory of its own in working/, so files of
 * one name never meet there. The directory is new and empty, so a rename cannot
 * replace anything, and it moves the name in one step: with a link and an
 * unlink, a file dropped under the same name in between would be written into
 * the file being backed up.
 */
export async function moveToWork(file: string, working: string): Promise<string> {
  const own = await fs.mkdtemp(path.join(working, 'drop-'));
  const target = path.join(own, path.basename(file));
  try {
    await fs.rename(file, target);
  } catch (err) {
    await fs.rmdir(own).catch(() => undefined);
    throw err;
  }
  return target;
}

/** Moves a finished file out of its working directory and removes that directory. */
export async function moveOutOfWork(file: string, working: string, to: string): Promise<void> {
  await moveInto(file, to);
  const own = path.dirname(file);
  if (own !== working) await fs.rmdir(own).catch(() => undefined);
}
