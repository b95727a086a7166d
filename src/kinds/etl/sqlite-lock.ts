import fs from 'node:fs';
import os from 'node:os';

/**
 * node-sqlite3-wasm locks a database file by making the directory
 * `FILE.lock` and removing it when the lock is let go. A worker killed inside
 * a transaction leaves that directory behind, and every later open finds the
 * file "locked" forever. So a load says who holds the lock (`FILE.courier-owner`:
 * host and pid) for as long as it holds it, and the next load removes a lock
 * whose holder is gone; SQLite then rolls back the dead transaction from its
 * journal, as it does after any crash.
 */
const lockDir = (file: string) => `${file}.lock`;
const ownerFile = (file: string) => `${file}.courier-owner`;

/** A lock nobody claims (its holder died between taking it and saying so) counts as stale after this long: no load holds one nearly as long. */
export const UNCLAIMED_LOCK_MS = 60_000;

interface Owner {
  host: string;
  pid: number;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readOwner(file: string): Owner | undefined {
  try {
    const owner = JSON.parse(fs.readFileSync(ownerFile(file), 'utf8')) as Partial<Owner>;
    return typeof owner.host === 'string' && typeof owner.pid === 'number' ? { host: owner.host, pid: owner.pid } : undefined;
  } catch {
    return undefined;
  }
}

/** Why the lock on `file` is stale, if it is; undefined when there is none or its holder may still be working. */
function staleness(file: string): string | undefined {
  let locked: fs.Stats;
  try {
    locked = fs.statSync(lockDir(file));
  } catch {
    return undefined;
  }
  const owner = readOwner(file);
  if (owner) {
    // Another host's pid says nothing here: its lock waits for that host (or the age rule, once it stops claiming it).
    if (owner.host !== os.hostname()) return undefined;
    // This process holds no lock when a load begins (each runs synchronously from open to close): a claim in its
    // own pid is an earlier life's, as after a container restart, where the worker is pid 1 again.
    if (owner.pid === process.pid) return `its holder was an earlier process with this one's pid (${owner.pid})`;
    return alive(owner.pid) ? undefined : `its holder, process ${owner.pid} on this host, is gone`;
  }
  const age = Date.now() - locked.mtimeMs;
  return age > UNCLAIMED_LOCK_MS ? `nobody has claimed it for ${Math.round(age / 1000)} s` : undefined;
}

/** Removes a lock left by a dead process; returns why, or undefined when there was nothing to remove. */
export function clearStaleLock(file: string): string | undefined {
  const why = staleness(file);
  if (!why) return undefined;
  fs.rmSync(lockDir(file), { recursive: true, force: true });
  fs.rmSync(ownerFile(file), { force: true });
  return why;
}

/** Says this process holds the lock on `file` (call once the transaction has begun); the returned function takes the claim back. */
export function claimLock(file: string): () => void {
  fs.writeFileSync(ownerFile(file), JSON.stringify({ host: os.hostname(), pid: process.pid } satisfies Owner));
  return () => fs.rmSync(ownerFile(file), { force: true });
}
