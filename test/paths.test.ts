/**
 * The path policy against hostile paths: every field a message names a path
 * in, through the activities that use it (real files, the real store), and a
 * job or two end to end. Nothing may be read or written outside a root.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities, createDeps, createHostActivities } from '../src/activities';
import { JobFailedError, submit, waitForJob } from '../src/client';
import { loadConfig, type Config } from '../src/config';
import type { PushedFile } from '../src/kinds/push/contract';
import { settingsFor } from '../src/kinds/settings';
import { openInside, resolveInside } from '../src/security/paths';
import { createStack, randomFile, type Stack } from './helpers/stack';

describe('paths stay inside their roots', () => {
  let base: string;
  let root: string;
  let outside: string;
  let config: Config;
  let corpus: string[];

  before(async () => {
    base = await fs.mkdtemp(path.join(process.env.COURIER_TEST_TMP!, 'paths-'));
    root = path.join(base, 'root');
    outside = path.join(base, 'outside');
    await fs.mkdir(path.join(root, 'sub'), { recursive: true });
    await fs.mkdir(outside);
    await fs.writeFile(path.join(outside, 'secret'), 'not yours');
    await fs.writeFile(path.join(root, 'fine.csv'), 'id\n1\n');
    await fs.symlink(path.join(outside, 'secret'), path.join(root, 'link'));
    await fs.symlink(outside, path.join(root, 'linkdir'));
    await fs.mkdir(`${root}-evil`);
    await fs.writeFile(`${root}-evil/secret`, 'not yours either');
    config = loadConfig({
      COURIER_DATA_DIR: path.join(base, 'data'),
      COURIER_SOURCE_ROOTS: root,
      COURIER_RESTORE_ROOTS: root,
      COURIER_DELIVERY_ROOT: root,
      COURIER_HOST: 'paths-host',
    });
    corpus = [
      `${root}/../outside/secret`,
      `${root}/sub/../../outside/secret`,
      `/..${outside}/secret`,
      `${root}/..`,
      '/etc/passwd',
      'relative/secret',
      `${root}/link`,
      `${root}/linkdir/secret`,
      `${root}-evil/secret`,
      `${root}/\u2024\u2024/outside/secret`,
      `${root}\uFF0F..\uFF0Foutside\uFF0Fsecret`,
      `${root}/${'a'.repeat(5000)}`,
      `${root}/sub/a\0/../../../outside/secret`,
    ];
  });

  /** Runs an activity as the worker would, and returns the failure it ended with. */
  async function refusal(run: () => Promise<unknown>): Promise<ApplicationFailure> {
    const err = await new MockActivityEnvironment().run(run).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof ApplicationFailure, `refused, not ${err === undefined ? 'accepted' : String(err)}`);
    assert.equal(err.nonRetryable, true, 'a refused path is not retried');
    return err;
  }

  async function outsideUntouched() {
    assert.deepEqual(await fs.readdir(outside), ['secret']);
    assert.equal(await fs.readFile(path.join(outside, 'secret'), 'utf8'), 'not yours');
    assert.equal(await fs.readFile(`${root}-evil/secret`, 'utf8'), 'not yours either');
  }

  it('every read field refuses every hostile path, naming the field: backup source, push file, ETL source, archive payload', async () => {
    const deps = createDeps(config);
    const activities = createActivities(deps);
    const settings = settingsFor(config);
    for (const hostile of corpus) {
      const source = await refusal(() => activities.prepareBackup({ message: { kind: 'backup', id: 'b', name: 'b', source: hostile }, settings }));
      assert.match(source.message, /^source /, hostile);
      const file = await refusal(() => activities.stagePushFile({ name: 'p', file: hostile }));
      assert.match(file.message, /^file /, hostile);
      const etl = await refusal(() => activities.listEtlSources({ pipeline: 'none', source: hostile }));
      assert.match(etl.message, /source|pipeline/, hostile);
    }
    const archive = deps.handlers.handlerFor('archive')!;
    for (const hostile of corpus) {
      const err = await archive(
        {
          kind: 'dispatch',
          id: 'd',
          name: 'a',
          version: '1',
          buildType: null,
          format: 'archive',
          project: 'p',
          origin: 'o',
          payload: { files: [path.join(root, 'fine.csv'), hostile] },
        },
        { jobId: 'd', config, store: deps.store, heartbeat: () => undefined, signal: new AbortController().signal },
      ).then(
        () => undefined,
        (e: Error) => e,
      );
      assert.ok(err, `archive refused ${hostile}`);
      assert.match(err.message, /payload\.files(\[1\]|\.1)/, hostile);
    }
    assert.deepEqual(await deps.store.list('pushes'), [], 'nothing was read into the store');
    await outsideUntouched();
  });

  it('a restore refuses every hostile destination and a planted link at its temp path does not redirect the write', async () => {
    const activities = createActivities(createDeps(config));
    for (const hostile of corpus) {
      const err = await refusal(() => activities.prepareRestore({ jobId: 'r', dest: hostile, size: 10 }));
      assert.match(err.message, /^dest /, hostile);
    }
    // The old temp name was predictable: a link planted there would have taken the write.
    const dest = path.join(root, 'restored.bin');
    for (const guess of ['.restored.bin.courier-partial', '.restored.bin.courier-0000000000.partial']) {
      await fs.symlink(path.join(outside, 'planted'), path.join(root, guess));
    }
    const prepared = (await new MockActivityEnvironment().run(() => activities.prepareRestore({ jobId: 'r', dest, size: 10 }))) as {
      tempPath: string;
    };
    assert.ok(path.dirname(prepared.tempPath) === root && (await fs.lstat(prepared.tempPath)).isFile(), 'a new plain file beside the target');
    assert.equal((await fs.stat(prepared.tempPath)).size, 10);
    await outsideUntouched();
  });

  it('a push destination is written inside the delivery root whatever it spells; links out of the root are refused; a host without a root delivers nothing', async () => {
    const deps = createDeps(config);
    const file: PushedFile = await new MockActivityEnvironment().run(() =>
      createActivities(deps).stagePushFile({ name: 'p', file: path.join(root, 'fine.csv') }),
    );
    const { deliverFile } = createHostActivities(deps);
    const deliver = (dest: string, cfg = config) =>
      createHostActivities(createDeps(cfg, { store: deps.store })).deliverFile({
        host: 'paths-host',
        file,
        dest,
        mode: '0644',
        postCommandTimeoutMs: 1000,
      });
    await new MockActivityEnvironment().run(() =>
      deliverFile({ host: 'paths-host', file, dest: '/../../etc/cron.d/courier-test', mode: '0644', postCommandTimeoutMs: 1000 }),
    );
    assert.equal(await fs.readFile(path.join(root, 'etc', 'cron.d', 'courier-test'), 'utf8'), 'id\n1\n', 'the .. stayed inside the root');
    await assert.rejects(fs.stat('/etc/cron.d/courier-test'), 'nothing written outside');
    for (const hostile of ['/linkdir/x', '/linkdir/new/dir/x', '/link']) {
      const err = await refusal(() => deliver(hostile));
      assert.match(err.message, /^dest /, hostile);
    }
    const unconfigured = await refusal(() => deliver('/x', { ...config, push: { ...config.push, deliveryRoot: undefined } }));
    assert.match(unconfigured.message, /takes no deliveries: set COURIER_DELIVERY_ROOT/);
    await outsideUntouched();
  });

  it('a file or a directory swapped for a link between the check and the open is caught at the open', async () => {
    const roots = { field: 'source', dirs: [root], setting: 'COURIER_SOURCE_ROOTS' };
    await fs.mkdir(path.join(root, 'swap'), { recursive: true });
    await fs.writeFile(path.join(root, 'swap', 'data'), 'mine');
    const checked = await resolveInside(path.join(root, 'swap', 'data'), roots, { mustExist: true });
    await fs.rm(checked);
    await fs.symlink(path.join(outside, 'secret'), checked);
    await assert.rejects(openInside(checked, roots), /source ".*\/swap\/data" was swapped for a symbolic link after it was checked/);

    await fs.mkdir(path.join(root, 'swapdir'));
    await fs.writeFile(path.join(root, 'swapdir', 'secret'), 'mine');
    const inDir = await resolveInside(path.join(root, 'swapdir', 'secret'), roots, { mustExist: true });
    await fs.rename(path.join(root, 'swapdir'), path.join(root, 'swapdir-moved'));
    await fs.symlink(outside, path.join(root, 'swapdir'));
    await assert.rejects(openInside(inDir, roots), /was swapped for .*\/outside\/secret after it was checked, outside the allowed roots/);

    const fine = await openInside(path.join(root, 'fine.csv'), roots);
    assert.equal(await fs.readFile(fine.via, 'utf8'), 'id\n1\n', 'reads go through the checked descriptor');
    await fine.handle.close();
    await outsideUntouched();
  });

  describe('end to end', () => {
    let stack: Stack;
    before(async () => {
      stack = await createStack({ COURIER_SOURCE_ROOTS: root, COURIER_RESTORE_ROOTS: root });
      await stack.startWorker();
    });
    after(() => stack?.close());

    it('a job naming a link out of its root fails at once naming the field, and the worker goes on', async () => {
      const { jobId } = await submit(stack.client, stack.config, { kind: 'backup', name: 'via-link', source: `${root}/link` });
      await assert.rejects(waitForJob(stack.client, jobId), (err: JobFailedError) =>
        /source ".*\/link" leads to .*outside\/secret .*outside the allowed roots/.test(err.message),
      );
      const fine = await randomFile(root, 'fine.bin', 1000);
      const ok = await submit(stack.client, stack.config, { kind: 'backup', name: 'fine', source: fine });
      assert.equal((await waitForJob(stack.client, ok.jobId)).kind, 'backup');
      const restore = await submit(stack.client, stack.config, { kind: 'restore', name: 'fine', dest: `${outside}/stolen` });
      await assert.rejects(waitForJob(stack.client, restore.jobId), (err: JobFailedError) =>
        /dest ".*\/stolen" is outside the allowed roots/.test(err.message),
      );
      await outsideUntouched();
    });
  });
});
