import { execFile } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { constants, createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Context, log } from '@temporalio/activity';
import { hashFile } from '../../hashing/hash-file';
import type { DeliveryRequest, DeliveryResult, PushedFile } from './contract';
import { pushObjectKey } from '../../jobs/keys';
import { ObjectNotFoundError } from '../../stores';
import { bindAll } from '../../activities/bind';
import type { ActivityDeps } from '../../activities/deps';
import { errnoCode, permanent } from '../../activities/failures';
import { makeDirInside, openInside, resolveInside } from '../../security/paths';
import { sourceRoots } from '../../security/roots';

const run = promisify(execFile);

/**
 * The file every host fetches: a local file is copied into the store under
 * its sha256 (the store checks it), an object already there is looked up.
 */
export async function stagePushFile(deps: ActivityDeps, input: { name: string; file?: string; object?: string }): Promise<PushedFile> {
  if (input.object) {
    const info = await deps.store.checksums(input.object, { signal: Context.current().cancellationSignal });
    if (!info) throw permanent('NotFound', `push ${input.name}: no object "${input.object}" in ${deps.store.description}`);
    return { key: input.object, sha256: info.sha256, size: info.size };
  }
  const roots = sourceRoots(deps.config, 'file');
  const file = await resolveInside(input.file!, roots, { mustExist: true });
  // Hashed and stored through one checked descriptor: what is stored is the file that was checked.
  const { handle, via } = await openInside(file, roots);
  try {
    let hashed;
    try {
      hashed = await hashFile({ file: via, algorithms: ['sha256'] }, { signal: Context.current().cancellationSignal });
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR')
        throw permanent('BadInput', `push ${input.name}: cannot read ${file} (${code})`);
      throw err;
    }
    const sha256 = hashed.digests.sha256!;
    const key = pushObjectKey(input.name, sha256);
    const existing = await deps.store.checksums(key, { signal: Context.current().cancellationSignal });
    if (existing?.sha256 === sha256 && existing.size === hashed.size) return { key, sha256, size: hashed.size };
    await deps.store.put(key, createReadStream(via), { expectedSha256: sha256, expectedSize: hashed.size });
    return { key, sha256, size: hashed.size };
  } finally {
    await handle.close();
  }
}

async function sha256Of(file: string): Promise<string | undefined> {
  try {
    return (await hashFile({ file, algorithms: ['sha256'] })).digests.sha256;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw err;
  }
}

/** user[:group] to numeric ids, through the host's own account database. */
async function ownerIds(owner: string): Promise<{ uid: number; gid: number }> {
  const [user, group] = owner.split(':');
  try {
    const uid = Number((await run('id', ['-u', user])).stdout.trim());
    const gid = group ? Number((await run('getent', ['group', group])).stdout.split(':')[2]) : Number((await run('id', ['-g', user])).stdout.trim());
    if (!Number.isInteger(uid) || !Number.isInteger(gid)) throw new Error('not numeric');
    return { uid, gid };
  } catch {
    throw permanent('BadInput', `owner "${owner}" is not a user[:group] known on host ${os.hostname()}`);
  }
}

/**
 * Runs on the host: fetches the object, writes it beside the destination while
 * hashing, checks its sha256, sets mode and owner, renames it into place (an
 * atomic swap: readers see the old file or the new one), then runs the post-command.
 * A destination that already holds these bytes is left as it is.
 */
export async function deliverFile(deps: ActivityDeps, request: DeliveryRequest): Promise<DeliveryResult> {
  const { file } = request;
  const root = deps.config.push.deliveryRoot;
  if (!root) {
    throw permanent(
      'NotConfigured',
      `host ${request.host} takes no deliveries: set COURIER_DELIVERY_ROOT on it (every destination is written inside it; / allows any path)`,
    );
  }
  // The host decides what it runs and whom it gives files to, before anything is written.
  const command = request.postCommand ? deps.config.push.commands[request.postCommand] : undefined;
  if (request.postCommand && command === undefined) {
    const known = Object.keys(deps.config.push.commands);
    throw permanent(
      'BadInput',
      `host ${request.host} has no post-command "${request.postCommand}"; it allows ${known.length ? known.join(', ') : 'none'} (COURIER_PUSH_COMMANDS on that host)`,
    );
  }
  if (request.owner && !deps.config.push.owners.includes(request.owner)) {
    const allowed = deps.config.push.owners;
    throw permanent(
      'BadInput',
      `host ${request.host} does not give files to owner "${request.owner}"; it allows ${allowed.length ? allowed.join(', ') : 'none'} (COURIER_PUSH_OWNERS on that host)`,
    );
  }
  // Inside the root whatever the message spells: `..` cannot climb out, and neither can a symbolic link on the way.
  const roots = { field: 'dest', dirs: [root], setting: `COURIER_DELIVERY_ROOT on host ${request.host}` };
  const wanted = path.join(root, path.resolve('/', request.dest));
  await makeDirInside(path.dirname(wanted), roots);
  const dest = await resolveInside(wanted, roots, { mustExist: false });
  const mode = parseInt(request.mode, 8);
  const already = (await sha256Of(dest)) === file.sha256;
  if (!already) {
    const temp = path.join(path.dirname(dest), `.${path.basename(dest)}.courier-${randomUUID().slice(0, 8)}`);
    try {
      // Created exclusively under a random name, never through a link planted there.
      const out = await fs.open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
      try {
        let source;
        try {
          source = await deps.store.get(file.key, { signal: Context.current().cancellationSignal });
        } catch (err) {
          if (err instanceof ObjectNotFoundError) throw permanent('NotFound', `push: ${file.key} is gone from ${deps.store.description}`);
          throw err;
        }
        // Each chunk hashed as it is written: what is checked is exactly what the file holds.
        const hash = createHash('sha256');
        for await (const chunk of source) {
          hash.update(chunk as Buffer);
          await out.write(chunk as Buffer);
        }
        const actual = hash.digest('hex');
        if (actual !== file.sha256) throw new Error(`${file.key} arrived with sha256 ${actual}, expected ${file.sha256}; will fetch again`);
        await out.chmod(mode);
        if (request.owner) {
          const { uid, gid } = await ownerIds(request.owner);
          await out.chown(uid, gid);
        }
        await out.sync();
      } finally {
        await out.close();
      }
      await fs.rename(temp, dest);
    } catch (err) {
      await fs.rm(temp, { force: true });
      const code = errnoCode(err);
      if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS')
        throw permanent('BadInput', `cannot write ${dest} on host ${request.host}: ${code}`);
      throw err;
    }
  } else {
    await fs.chmod(dest, mode);
  }
  let postCommand: DeliveryResult['postCommand'];
  if (command !== undefined) {
    try {
      const { stdout } = await run('/bin/sh', ['-c', command], {
        env: { ...process.env, COURIER_PUSH_DEST: dest, COURIER_PUSH_SHA256: file.sha256 },
        timeout: request.postCommandTimeoutMs,
        signal: Context.current().cancellationSignal,
      });
      postCommand = { ok: true, output: stdout.trim().slice(-2000) };
    } catch (err) {
      const failure = err as { code?: number | string; stderr?: string; message: string };
      throw permanent(
        'BadInput',
        `post-command on host ${request.host} failed (${failure.code ?? 'error'}): ${(failure.stderr || failure.message).trim().slice(-1000)}`,
      );
    }
  }
  log.info('file delivered', { host: request.host, dest, sha256: file.sha256, written: !already });
  return { host: request.host, dest: request.dest, sha256: file.sha256, size: file.size, written: !already, ...(postCommand ? { postCommand } : {}) };
}

/** What a push runs on the control queue; each host's worker runs `deliverFile` (see createHostActivities). */
export const pushActivities = (deps: ActivityDeps) => bindAll(deps, { stagePushFile });
