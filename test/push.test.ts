import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { after, before, describe, it } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities, createDeps, createHostActivities } from '../src/activities';
import { loadConfig } from '../src/config';
import { FsStore } from '../src/stores/fs-store';
import { JobFailedError, submit, waitForJob } from '../src/client';
import type { PushedFile, PushResult } from '../src/kinds/push/contract';
import { hostQueue, pushObjectKey } from '../src/jobs/keys';
import { MessageError } from '../src/jobs/message-error';
import { retryJob } from '../src/operations/retry-job';
import { temporal } from '@temporalio/proto';
import { createStack, randomFile, sha256File, spawnWorker, waitUntil, type Stack } from './helpers/stack';

describe('push: one file to many hosts, each through its own task queue', () => {
  let stack: Stack;
  let dir: string;
  const hosts = ['a', 'b', 'c'].map((h) => `web-${process.pid}-${h}`);
  const roots = new Map<string, string>();
  const workers = new Map<string, ChildProcess>();

  async function startHost(host: string) {
    const child = spawnWorker(
      {
        ...stack.env,
        COURIER_DELIVERY_ROOT: roots.get(host)!,
        // What each host runs after a delivery, by key, and whom it gives files to: the host's own say.
        COURIER_PUSH_COMMANDS: JSON.stringify({ 'record-sha': 'printf "%s" "$COURIER_PUSH_SHA256" > "$COURIER_PUSH_DEST.post"', noop: 'exit 0' }),
        COURIER_PUSH_OWNERS: 'no-such-user-xyz',
      },
      ['--host', host, '--host-only'],
    );
    workers.set(host, child);
    await waitUntil(
      `host ${host} to poll`,
      async () => {
        const described = await stack.client.workflowService.describeTaskQueue({
          namespace: 'default',
          taskQueue: { name: hostQueue(host) },
          taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
        });
        if (child.exitCode !== null) throw new Error(`host worker ${host} exited ${child.exitCode}`);
        return (described.pollers ?? []).some((p) => p.identity?.startsWith(`${child.pid}@`));
      },
      60_000,
    );
  }
  async function killHost(host: string) {
    const child = workers.get(host)!;
    const gone = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await gone;
  }

  before(async () => {
    stack = await createStack({ COURIER_PUSH_HOST_TIMEOUT: '4s' });
    await stack.startWorker();
    dir = await fs.mkdtemp(path.join(process.env.COURIER_TEST_TMP!, 'push-'));
    for (const host of hosts) {
      roots.set(host, path.join(dir, host));
      await fs.mkdir(roots.get(host)!, { recursive: true });
    }
    await Promise.all(hosts.map(startHost));
  });
  after(async () => {
    for (const child of workers.values()) if (child.exitCode === null) child.kill('SIGKILL');
    await stack?.close();
  });

  it('delivers to the live hosts byte for byte, reports the dead one unreachable, and a retry reaches it once it is back', async () => {
    const [a, b, c] = hosts;
    await killHost(c);
    const source = await randomFile(dir, 'data.cdb', 3 * 1024 * 1024 + 17);
    const dest = '/srv/app/data.cdb';
    const { jobId } = await submit(stack.client, stack.config, {
      kind: 'push',
      name: 'data.cdb',
      file: source,
      dest,
      mode: '0640',
      postCommand: 'record-sha',
      hosts,
    });
    await assert.rejects(waitForJob(stack.client, jobId), (err: unknown) => {
      assert.ok(err instanceof JobFailedError);
      assert.match(err.message, new RegExp(`reached 2 of 3 hosts; ${c} unreachable: nothing polled task queue host-${c}`));
      return true;
    });
    const expected = await sha256File(source);
    for (const host of [a, b]) {
      const delivered = path.join(roots.get(host)!, dest);
      assert.equal(await sha256File(delivered), expected, `${host} has the file byte for byte`);
      assert.equal((await fs.stat(delivered)).mode & 0o777, 0o640, `${host}: mode 0640`);
      assert.equal(await fs.readFile(`${delivered}.post`, 'utf8'), expected, `${host}: the post-command ran after the rename`);
      assert.deepEqual(
        (await fs.readdir(path.dirname(delivered))).filter((f) => f.includes('.courier-')),
        [],
        `${host}: no temp file left`,
      );
    }
    await assert.rejects(fs.stat(path.join(roots.get(c)!, dest)), /ENOENT/);

    await startHost(c);
    await retryJob(stack.client, stack.config, jobId);
    const result = (await waitForJob(stack.client, jobId)) as PushResult;
    assert.deepEqual(
      result.hosts.map((h) => [h.host, h.outcome, h.written]),
      [
        [a, 'delivered', false],
        [b, 'delivered', false],
        [c, 'delivered', true],
      ],
    );
    assert.equal(await sha256File(path.join(roots.get(c)!, dest)), expected);
  });

  it('a host that cannot apply the delivery fails alone, naming the cause', async () => {
    const [a, b] = hosts;
    const source = await randomFile(dir, 'conf.txt', 1000);
    const { jobId } = await submit(stack.client, stack.config, {
      kind: 'push',
      name: 'conf',
      file: source,
      dest: '/etc/app/conf.txt',
      owner: 'no-such-user-xyz',
      hosts: [a],
    });
    await assert.rejects(waitForJob(stack.client, jobId), /owner "no-such-user-xyz" is not a user/);
    const ok = await submit(stack.client, stack.config, {
      kind: 'push',
      name: 'conf',
      file: source,
      dest: '/etc/app/conf.txt',
      hosts: [b],
      postCommand: 'noop',
    });
    const result = (await waitForJob(stack.client, ok.jobId)) as PushResult;
    assert.equal(result.hosts[0].outcome, 'delivered');

    // An object already in the store is pushed as it is, without a local file.
    const fromStore = await submit(stack.client, stack.config, {
      kind: 'push',
      name: 'conf-copy',
      object: pushObjectKey('conf', result.sha256),
      dest: '/etc/app/copy.txt',
      hosts: [b],
    });
    const copied = (await waitForJob(stack.client, fromStore.jobId)) as PushResult;
    assert.equal(copied.sha256, result.sha256);
    assert.equal(await sha256File(path.join(roots.get(b)!, '/etc/app/copy.txt')), await sha256File(source));
    await assert.rejects(
      submit(stack.client, stack.config, { kind: 'push', name: 'both', file: source, object: 'x', dest: '/x', hosts: [b] }),
      (err: unknown) => err instanceof MessageError && /exactly one of file or object/.test(err.message),
    );
  });

  it('hosts run only the commands they map, and give files only to the owners they allow', async () => {
    const [a, b] = hosts;
    const source = await randomFile(dir, 'keyed.txt', 100);
    await assert.rejects(
      submit(stack.client, stack.config, { kind: 'push', name: 'shell', file: source, dest: '/k.txt', hosts: [a], postCommand: 'rm -rf /' }),
      (err: unknown) => err instanceof MessageError && /postCommand: name a command the hosts allow/.test(err.message),
      'a command line is not a key',
    );
    const unknown = await submit(stack.client, stack.config, {
      kind: 'push',
      name: 'keyed',
      file: source,
      dest: '/k.txt',
      hosts: [a, b],
      postCommand: 'wipe',
    });
    await assert.rejects(waitForJob(stack.client, unknown.jobId), (err: unknown) => {
      assert.ok(err instanceof JobFailedError);
      for (const host of [a, b])
        assert.match(err.message, new RegExp(`${host} failed: host ${host} has no post-command "wipe"; it allows record-sha, noop`));
      return true;
    });
    for (const host of [a, b]) await assert.rejects(fs.stat(path.join(roots.get(host)!, 'k.txt')), /ENOENT/, 'refused before anything was written');
    const owner = await submit(stack.client, stack.config, { kind: 'push', name: 'owned', file: source, dest: '/o.txt', hosts: [b], owner: 'root' });
    await assert.rejects(waitForJob(stack.client, owner.jobId), /does not give files to owner "root"; it allows no-such-user-xyz/);
  });
});

describe('a delivery', () => {
  /** The real store, answering with a body that has already arrived, as an S3 response's does. */
  class ArrivedStore extends FsStore {
    override async get(...args: Parameters<FsStore['get']>) {
      return Readable.from([await buffer(await super.get(...args))]);
    }
  }

  it('writes every byte the store sends, even bytes that arrive before the file is open', async () => {
    const base = await fs.mkdtemp(path.join(process.env.COURIER_TEST_TMP!, 'delivery-'));
    const root = path.join(base, 'root');
    await fs.mkdir(root);
    const config = loadConfig({
      COURIER_DATA_DIR: path.join(base, 'data'),
      COURIER_SOURCE_ROOTS: root,
      COURIER_DELIVERY_ROOT: root,
      COURIER_HOST: 'h',
    });
    const deps = createDeps(config, { store: new ArrivedStore(config.storeDir) });
    try {
      for (const size of [5, 300_000]) {
        const source = await randomFile(root, `source-${size}`, size);
        const file: PushedFile = await new MockActivityEnvironment().run(() => createActivities(deps).stagePushFile({ name: 'p', file: source }));
        const delivered = { host: 'h', file, dest: `/out/${size}`, mode: '0644', postCommandTimeoutMs: 1000 };
        await new MockActivityEnvironment().run(() => createHostActivities(deps).deliverFile(delivered));
        assert.deepEqual(await fs.readFile(path.join(root, 'out', String(size))), await fs.readFile(source), `${size} bytes`);
      }
    } finally {
      await deps.close();
      await fs.rm(base, { recursive: true, force: true });
    }
  });
});
