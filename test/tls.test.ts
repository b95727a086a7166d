import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../src/config';
import { makeCertificates, startTlsProxy, type Certificates, type TlsProxy } from './helpers/tls-proxy';
import { randomFile, runCli, sha256File, spawnWorker, temporalAddress, testEnv } from './helpers/stack';

describe('connecting to a cluster over mutual TLS, with the standard TEMPORAL_* settings', () => {
  let dir: string;
  let certs: Certificates;
  let proxy: TlsProxy;

  before(async () => {
    dir = await fs.mkdtemp(path.join(process.env.COURIER_TEST_TMP!, 'tls-'));
    certs = makeCertificates(dir);
    proxy = await startTlsProxy(certs, temporalAddress());
  });
  after(() => proxy?.close());

  const tlsEnv = () => ({
    TEMPORAL_ADDRESS: proxy.address,
    TEMPORAL_TLS_SERVER_CA_CERT_PATH: certs.caCert,
    TEMPORAL_TLS_CLIENT_CERT_PATH: certs.clientCert,
    TEMPORAL_TLS_CLIENT_KEY_PATH: certs.clientKey,
  });

  it('the worker and the CLI run a backup through the TLS endpoint with a client certificate', async () => {
    const env = await testEnv(tlsEnv());
    const worker = spawnWorker(env);
    try {
      const source = await randomFile(dir, 'over-tls.bin', 3 * 1024 * 1024 + 5);
      const backup = await runCli(['backup', source, '--name', 'over-tls', '--wait', '--json'], env);
      assert.equal(backup.code, 0, backup.stderr);
      const dest = path.join(dir, 'over-tls.out');
      const restore = await runCli(['restore', 'over-tls', dest], env);
      assert.equal(restore.code, 0, restore.stderr);
      assert.equal(await sha256File(dest), await sha256File(source));
      assert.ok(proxy.accepted.includes('courier-worker'), 'the proxy saw the client certificate');
    } finally {
      worker.kill('SIGTERM');
      await new Promise((resolve) => worker.once('exit', resolve));
    }
  });

  it('without a client certificate the handshake is refused and the CLI says the server is unreachable', async () => {
    const refusedBefore = proxy.refused;
    const { TEMPORAL_TLS_CLIENT_CERT_PATH: _cert, TEMPORAL_TLS_CLIENT_KEY_PATH: _key, ...withoutClientCert } = tlsEnv();
    const env = await testEnv({ ...withoutClientCert, COURIER_CONNECT_TIMEOUT: '2s' });
    const result = await runCli(['list'], env);
    assert.equal(result.code, 3, `exit 3 (unavailable); stderr: ${result.stderr}`);
    assert.ok(proxy.refused > refusedBefore, 'the proxy refused the handshake');
  });

  it('an API key, a server name and a profile file reach the connection options', async () => {
    const profile = path.join(dir, 'temporal.toml');
    await fs.writeFile(
      profile,
      [
        '[profile.cloud]',
        'address = "courier-prod.a1b2c.tmprl.cloud:7233"',
        'namespace = "courier-prod.a1b2c"',
        'api_key = "key-from-profile"',
        '[profile.cloud.tls]',
        `server_ca_cert_path = "${certs.caCert}"`,
        'server_name = "courier-prod.a1b2c.tmprl.cloud"',
        '',
      ].join('\n'),
    );
    const config = loadConfig({ TEMPORAL_CONFIG_FILE: profile, TEMPORAL_PROFILE: 'cloud' });
    assert.equal(config.temporal.address, 'courier-prod.a1b2c.tmprl.cloud:7233');
    assert.equal(config.temporal.namespace, 'courier-prod.a1b2c');
    assert.equal(config.temporal.connectionOptions.apiKey, 'key-from-profile');
    const tls = config.temporal.connectionOptions.tls;
    assert.ok(tls && typeof tls === 'object', 'TLS is on');
    assert.equal(tls.serverNameOverride, 'courier-prod.a1b2c.tmprl.cloud');
    assert.equal(Buffer.from(tls.serverRootCACertificate!).toString(), await fs.readFile(certs.caCert, 'utf8'));

    const fromEnv = loadConfig({
      TEMPORAL_CONFIG_FILE: profile,
      TEMPORAL_PROFILE: 'cloud',
      TEMPORAL_API_KEY: 'key-from-env',
      TEMPORAL_NAMESPACE: 'other',
    });
    assert.equal(fromEnv.temporal.connectionOptions.apiKey, 'key-from-env', 'the environment overrides the profile');
    assert.equal(fromEnv.temporal.namespace, 'other');
  });
});
