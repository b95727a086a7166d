import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig, parseDuration, parseSize } from '../src/config';

describe('configuration', () => {
  it('has embedded defaults', () => {
    const config = loadConfig({});
    assert.equal(config.dataDir, path.resolve('data'));
    assert.equal(config.partSize, 64 * 1024 * 1024);
    assert.equal(config.concurrency, 4);
    assert.deepEqual(config.sourceRoots, [process.cwd()], 'by default only the working directory');
    assert.deepEqual(config.restoreRoots, [process.cwd()]);
    assert.equal(config.push.deliveryRoot, undefined, 'a host delivers nothing until it names its root');
    assert.equal(config.temporal.address, 'localhost:7233');
    assert.equal(config.temporal.namespace, 'default');
  });

  it('reads sizes, roots and the standard TEMPORAL_* variables', () => {
    const config = loadConfig({
      COURIER_PART_SIZE: '8MiB',
      COURIER_SOURCE_ROOTS: '/srv/a:/srv/b',
      TEMPORAL_ADDRESS: 'temporal.example:7233',
      TEMPORAL_NAMESPACE: 'prod',
    });
    assert.equal(config.partSize, 8 * 1024 * 1024);
    assert.deepEqual(config.sourceRoots, ['/srv/a', '/srv/b']);
    assert.equal(config.temporal.address, 'temporal.example:7233');
    assert.equal(config.temporal.namespace, 'prod');
  });

  it('refuses bad values naming each variable', () => {
    assert.throws(
      () => loadConfig({ COURIER_PART_SIZE: '0', COURIER_CONCURRENCY: 'many', COURIER_HEARTBEAT_TIMEOUT: 'soon' }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.match(err.message, /COURIER_PART_SIZE="0"/);
        assert.match(err.message, /COURIER_CONCURRENCY="many"/);
        assert.match(err.message, /COURIER_HEARTBEAT_TIMEOUT="soon"/);
        return true;
      },
    );
  });

  it('a bad secret is named but never echoed; a password in a URL is masked', () => {
    const secret = 'short-secret';
    assert.throws(
      () => loadConfig({ COURIER_HTTP_TOKEN: secret, COURIER_SMTP_URL: 'smtp://mailer:hunter2-pw@mail:notaport' }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.match(err.message, /COURIER_HTTP_TOKEN=\(hidden, 12 characters\): must be at least 16 characters/);
        assert.ok(!err.message.includes(secret), 'the token is not printed');
        assert.ok(!err.message.includes('hunter2-pw'), 'the password is not printed');
        return true;
      },
    );
    assert.throws(
      () => loadConfig({ COURIER_HTTP_READ_TOKEN: 'read-only-token-0123456789' }),
      /COURIER_HTTP_READ_TOKEN is set without COURIER_HTTP_TOKEN/,
    );
  });

  it('names the host and places the store: the machine name by default, a shared mount with file://', () => {
    const defaults = loadConfig({});
    assert.match(defaults.host, /^[A-Za-z0-9][A-Za-z0-9._-]*$/);
    assert.equal(defaults.hosts.lostAfterMs, 60_000);
    assert.equal(defaults.hosts.waitMs, 3_600_000);
    assert.equal(defaults.storeDir, path.resolve('data', 'store'));
    const shared = loadConfig({ COURIER_HOST: 'web-1', COURIER_STORE: 'file:///mnt/backups', COURIER_HOST_TIMEOUT: '5s', COURIER_HOST_WAIT: '10m' });
    assert.equal(shared.host, 'web-1');
    assert.deepEqual(shared.hosts, { lostAfterMs: 5000, waitMs: 600_000 });
    assert.equal(shared.storeDir, '/mnt/backups');
    assert.equal(shared.store.kind, 'fs');
    assert.throws(
      () => loadConfig({ COURIER_HOST: 'a/b', COURIER_STORE: 'file://relative' }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.match(err.message, /COURIER_HOST="a\/b"/);
        assert.match(err.message, /COURIER_STORE="file:\/\/relative": .*file:\/\/\/absolute\/path/);
        return true;
      },
    );
  });

  it('parses sizes and durations', () => {
    assert.equal(parseSize('1536'), 1536);
    assert.equal(parseSize('512KiB'), 512 * 1024);
    assert.equal(parseSize('1G'), 1024 ** 3);
    assert.throws(() => parseSize('1.5G'), /not a size/);
    assert.equal(parseDuration('30s'), 30_000);
    assert.equal(parseDuration('2m'), 120_000);
  });
});
