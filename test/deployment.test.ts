import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { CONFIG_VARIABLES, loadConfig } from '../src/config';
import { SEARCH_ATTRIBUTES } from '../src/search-attributes';
import { WORKER_PROCESS_ENV } from '../src/worker-tuning';

/**
 * There is no Docker engine here, so the compose stack, the image and the
 * systemd unit are checked against the repository and against what courier reads.
 */
const ROOT = path.resolve(__dirname, '..');
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');

interface Service {
  image?: string;
  build?: string | { context: string };
  restart?: string;
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  depends_on?: Record<string, { condition: string }> | string[];
  command?: string[];
  entrypoint?: string[];
  healthcheck?: unknown;
  stop_grace_period?: string;
}

/** Compose's `${VAR:-default}` with nothing set: the defaults apply; a required `${VAR:?why}` gets a stand-in. */
const interpolate = (value: string) =>
  value.replace(/\$\{[A-Z0-9_]+:-([^}]*)\}/g, '$1').replace(/\$\{[A-Z0-9_]+:\?[^}]*\}/g, 'required-value-0123456789');
// merge: the file shares the Temporal database settings through a YAML anchor (`<<: *temporal-db`).
const compose = parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, Service>; volumes: Record<string, unknown> };
const services = compose.services;
const courierServices = Object.entries(services).filter(([, s]) => s.build !== undefined);
/** The key file the codec-keys step makes in the stack, made here by the same command, so the configuration loads as in the stack. */
const keyFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'codec-keys-')), 'codec-keys.json');
execFileSync(process.execPath, [path.join(ROOT, 'bin', 'courier'), 'codec-keys', keyFile]);
const environment = (service: Service) =>
  Object.fromEntries(
    Object.entries(service.environment ?? {}).map(([key, value]) => [key, key === 'COURIER_CODEC_KEY_FILE' ? keyFile : interpolate(String(value))]),
  );
const durationMs = (text: string) => {
  const match = /^(\d+)(s|m|h)$/.exec(text);
  assert.ok(match, `duration ${text}`);
  return Number(match[1]) * { s: 1000, m: 60_000, h: 3_600_000 }[match[2] as 's' | 'm' | 'h'];
};

/** The data dir the image sets for its processes. */
const dockerfileDataDir = () =>
  /^\s*(?:ENV\s+)?COURIER_DATA_DIR=(\S+)/m.exec(read('Dockerfile'))?.[1] ?? assert.fail('the Dockerfile sets COURIER_DATA_DIR');

describe('docker-compose.yml: the self-hosted stack', () => {
  it('has PostgreSQL, schema setup, the Temporal server, the namespace step, the UI, mail, S3 and courier workers', () => {
    const images = Object.values(services).map((s) => s.image ?? '');
    for (const image of ['postgres:', 'temporalio/admin-tools:', 'temporalio/server:', 'temporalio/ui:', 'axllent/mailpit:', 'versity/versitygw:']) {
      assert.ok(
        images.some((i) => i.startsWith(image)),
        `a service runs ${image}`,
      );
    }
    assert.deepEqual(
      courierServices.map(([, s]) => s.command?.[0] ?? 'worker').sort(),
      ['codec-keys', 'codec-server', 'http', 'store', 'worker'],
      'a courier worker, the HTTP API, the key step, the repository step and the codec server, built from the Dockerfile',
    );
    assert.ok(services.temporal.ports?.includes('7233:7233'));
    assert.ok(services['temporal-ui'].ports?.includes('8080:8080'));
  });

  it('pins every image, restarts long-running services, runs setup steps once and declares its named volumes', () => {
    for (const [name, service] of Object.entries(services)) {
      if (service.image) assert.match(service.image, /:[0-9v][\w.-]*$/, `${name}: image ${service.image} has a pinned version`);
      const oneShot = Object.values(services).some((other) =>
        Object.entries(other.depends_on ?? {}).some(
          ([dep, cond]) => dep === name && (cond as { condition?: string }).condition === 'service_completed_successfully',
        ),
      );
      assert.equal(service.restart, oneShot ? 'on-failure' : 'unless-stopped', `${name}: restart policy`);
      for (const volume of service.volumes ?? []) {
        // A bare container path is an anonymous volume: one per container.
        if (!volume.includes(':')) {
          assert.ok(volume.startsWith('/'), `${name}: anonymous volume ${volume} is a container path`);
          continue;
        }
        const source = volume.split(':')[0];
        if (source.startsWith('./')) assert.ok(fs.existsSync(path.join(ROOT, source)), `${name}: ${source} exists in the repository`);
        else if (!source.startsWith('$')) assert.ok(source in compose.volumes, `${name}: named volume ${source} is declared`);
      }
      const deps = Array.isArray(service.depends_on) ? service.depends_on : Object.keys(service.depends_on ?? {});
      for (const dep of deps) assert.ok(dep in services, `${name} depends on ${dep}, which is a service`);
    }
    assert.ok(services.postgres.healthcheck, 'postgres has a healthcheck');
  });

  it('gives every scaled worker a disk of its own: its data dir is an anonymous volume, never one named volume all replicas share', () => {
    const worker = services['courier-worker'];
    const dataDir = loadConfig({ ...environment(worker), COURIER_DATA_DIR: dockerfileDataDir() }).dataDir;
    const mounts = (worker.volumes ?? []).filter((v) => (v.includes(':') ? v.split(':')[1] : v) === dataDir);
    assert.deepEqual(mounts, [dataDir], `the data dir ${dataDir} is an anonymous volume`);
    assert.equal(environment(worker).COURIER_HOST, undefined, "the host name is the container's own");
  });

  it('sets up both Temporal databases with temporal-sql-tool for postgres12 and creates every search attribute courier sets', () => {
    const schema = read('deploy/temporal/setup-schema.sh');
    assert.match(schema, /temporal-sql-tool --plugin postgres12/);
    for (const db of ['temporal', 'temporal_visibility']) assert.match(schema, new RegExp(`\\b${db}\\b`));
    assert.equal(services['temporal-schema'].environment?.DB, 'postgres12');
    const namespace = read('deploy/temporal/create-namespace.sh');
    for (const key of SEARCH_ATTRIBUTES) assert.match(namespace, new RegExp(`\\b${key.name}\\b`), `${key.name} is created`);
  });

  it('encrypts payloads: a one-shot step makes the key file every courier process reads, and the UI decodes through the codec server', () => {
    const step = services['codec-keys'];
    assert.deepEqual(step.command, ['codec-keys', String(step.environment?.COURIER_CODEC_KEY_FILE)]);
    for (const name of ['courier-worker', 'courier-http', 'codec-server']) {
      assert.equal(
        (services[name].depends_on as Record<string, { condition: string }>)['codec-keys']?.condition,
        'service_completed_successfully',
        name,
      );
      assert.ok(services[name].volumes?.includes('codec-keys:/run/courier:ro'), `${name} mounts the keys read-only`);
    }
    const server = services['codec-server'];
    const at = server.command!.indexOf('--port');
    const port = at >= 0 ? server.command![at + 1] : '8888';
    assert.ok(server.ports?.includes(`127.0.0.1:${port}:${port}`), 'the codec server is published on loopback only');
    assert.equal(services['temporal-ui'].environment?.TEMPORAL_CODEC_ENDPOINT, `http://localhost:${port}`);
    assert.ok(JSON.parse(fs.readFileSync(keyFile, 'utf8'))[0].key, 'courier codec-keys wrote a key');
  });

  it('encrypts backups: a one-shot step makes the repository key and the repository before any worker or API starts', () => {
    const step = services['repo-init'];
    const keyFile = String(step.environment?.COURIER_REPO_KEY_FILE);
    assert.deepEqual(step.command, ['store', 'init', '--key-file', keyFile, '--new-key', '--if-missing']);
    assert.equal((step.depends_on as Record<string, { condition: string }>)['s3-bucket']?.condition, 'service_completed_successfully');
    for (const name of ['courier-worker', 'courier-http']) {
      assert.equal(
        (services[name].depends_on as Record<string, { condition: string }>)['repo-init']?.condition,
        'service_completed_successfully',
        name,
      );
      assert.equal(services[name].environment?.COURIER_REPO_KEY_FILE, keyFile, `${name} opens the repository with the same key`);
    }
  });

  it("gives courier only variables it reads, with values its configuration accepts, pointing at the stack's own ports", () => {
    for (const [name, service] of courierServices) {
      const env = environment(service);
      for (const key of Object.keys(env).filter((k) => k.startsWith('COURIER_'))) {
        assert.ok(CONFIG_VARIABLES.includes(key), `${name}: ${key} is a variable courier reads`);
      }
      const config = loadConfig(env);
      const [host, port] = config.temporal.address.split(':');
      assert.ok(
        host in services && services[host].ports?.some((p) => p.endsWith(`:${port}`)),
        `${name}: TEMPORAL_ADDRESS ${config.temporal.address} is the temporal service`,
      );
      assert.equal(config.store.kind, 's3');
      if (config.store.kind === 's3') {
        const endpoint = new URL(config.store.aws.endpoint!);
        assert.ok(endpoint.hostname in services, `${name}: AWS_ENDPOINT_URL names the ${endpoint.hostname} service`);
        assert.ok(services[endpoint.hostname].command?.join(' ').includes(`:${endpoint.port}`), 'the S3 server listens on that port');
        assert.ok(
          services['s3-bucket'].entrypoint?.join(' ').includes(`s3://${config.store.bucket}`),
          'the bucket step creates the configured bucket',
        );
        assert.equal(env.AWS_ACCESS_KEY_ID, interpolate(services.s3.command![services.s3.command!.indexOf('--access') + 1]));
      }
      const smtp = new URL(env.COURIER_SMTP_URL);
      assert.equal(smtp.hostname, 'mail');
      assert.equal(smtp.port, '1025', "mailpit's SMTP port");
      const ledger = new URL(env.COURIER_LEDGER_URL);
      assert.equal(ledger.hostname, 'postgres');
      assert.match(read('deploy/postgres/create-courier-db.sql'), new RegExp(`CREATE DATABASE ${ledger.pathname.slice(1)}`));
      if ((service.command ?? ['worker'])[0] === 'worker') {
        assert.ok(durationMs(service.stop_grace_period!) > config.shutdownGraceMs, `${name}: docker waits longer than COURIER_SHUTDOWN_GRACE`);
      }
      if (service.command?.[0] === 'http') {
        assert.ok(config.http.token, `${name}: the HTTP API has a token, so it may bind beyond loopback`);
        assert.ok(service.ports?.includes(`${config.http.port}:${config.http.port}`), `${name}: publishes COURIER_HTTP_PORT`);
      }
      assert.ok(
        !service.command || ['worker', 'http', 'codec-keys', 'codec-server', 'store'].includes(service.command[0]),
        `${name}: runs a courier command`,
      );
      assert.ok(config.codecKeys?.length, `${name}: payloads are encrypted`);
      const keys = String(service.environment?.COURIER_CODEC_KEY_FILE);
      assert.ok(
        (service.volumes ?? []).some((v) => v.startsWith('codec-keys:') && keys.startsWith(`${v.split(':')[1]}/`)),
        `${name}: reads ${keys} from the codec-keys volume`,
      );
    }
  });
});

describe('Dockerfile: the production image', () => {
  const dockerfile = read('Dockerfile');

  it('builds in stages, installs production dependencies only, bundles the workflows and runs as a non-root user', () => {
    assert.ok((dockerfile.match(/^FROM /gm) ?? []).length >= 2, 'multi-stage');
    assert.match(dockerfile, /npm ci --omit=dev/);
    assert.match(dockerfile, /scripts\/bundle-workflows\.ts dist\/workflow-bundle\.js/);
    assert.match(dockerfile, /COURIER_WORKFLOW_BUNDLE=\/app\/dist\/workflow-bundle\.js/);
    assert.match(dockerfile, /^USER node$/m);
    assert.match(dockerfile, /^HEALTHCHECK .*"health"\]$/m);
    assert.match(dockerfile, /^CMD \["worker"\]$/m);
    for (const [name, value] of Object.entries(WORKER_PROCESS_ENV))
      assert.match(dockerfile, new RegExp(`^\\s+${name}=${value} \\\\$`, 'm'), `the image sets ${name}`);
    // dist/dashboard/serve.js serves the pages from beside itself.
    assert.match(dockerfile, /cp -r src\/dashboard\/public dist\/dashboard\//);
  });

  it('copies only files that exist and runs commands the CLI has', () => {
    for (const match of dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
      for (const source of match[1].split(/\s+/)) assert.ok(fs.existsSync(path.join(ROOT, source)), `COPY ${source} exists`);
    }
    const cli = read('src/cli/server-commands.ts') + read('src/cli/job-commands.ts');
    for (const command of ['worker', 'health', 'http']) assert.match(cli, new RegExp(`\\.command\\('${command}'\\)`), `the CLI has "${command}"`);
    const build = JSON.parse(read('tsconfig.build.json')) as { compilerOptions: { outDir: string; rootDir: string } };
    assert.equal(build.compilerOptions.outDir, 'dist');
    assert.equal(build.compilerOptions.rootDir, 'src', 'dist/cli.js is the compiled src/cli.ts');
  });

  it('has a systemd unit for hosts without containers that stops as gracefully as the container', () => {
    const unit = read('deploy/systemd/courier-worker.service');
    assert.match(unit, /^ExecStart=\/usr\/bin\/node \/opt\/courier\/dist\/cli\.js worker$/m);
    assert.match(unit, /^KillSignal=SIGTERM$/m);
    const grace = /COURIER_SHUTDOWN_GRACE=(\S+)/.exec(unit)![1];
    for (const [name, value] of Object.entries(WORKER_PROCESS_ENV)) assert.match(unit, new RegExp(`^Environment=${name}=${value}$`, 'm'));
    const stop = /^TimeoutStopSec=(\d+)min$/m.exec(unit)![1];
    assert.ok(Number(stop) * 60_000 > durationMs(grace), 'systemd waits longer than the grace time');
  });
});
