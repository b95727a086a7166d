import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { builtinModules } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import * as bundled from '../src/workflows';
import { JOB_TYPES, KINDS } from '../src/kinds/registry';

const SRC = path.resolve(__dirname, '..', 'src');

function sources(dir: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => path.join(dir, f));
}

/** Value imports and re-exports (type-only ones vanish at compile time and are fine anywhere). */
function valueImports(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  return [...text.matchAll(/^(?:import|export)\s+(?!type\s)[^;]*?from\s+'([^']+)'/gms)].map((m) => m[1]);
}

function resolve(from: string, spec: string): string {
  const base = path.resolve(path.dirname(from), spec);
  return fs.existsSync(`${base}.ts`) ? `${base}.ts` : path.join(base, 'index.ts');
}

/** Every project module the workflow bundle reaches through value imports, from its entry point. */
function workflowModules(): Set<string> {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const spec of valueImports(file)) if (spec.startsWith('.')) visit(resolve(file, spec));
  };
  visit(path.join(SRC, 'workflows', 'index.ts'));
  return seen;
}

const NODE = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
const WORKFLOW_PACKAGES = new Set(['@temporalio/workflow', '@temporalio/common', 'zod']);

describe('the layering DESIGN.md asks for', () => {
  it('the workflow bundle reaches no Node module, no activity and no package but the workflow SDK', () => {
    const modules = workflowModules();
    assert.ok(modules.size > 10, `the walk found the workflow modules (${modules.size})`);
    for (const file of modules) {
      const name = path.relative(SRC, file);
      assert.ok(!name.startsWith('activities') && !name.includes('/activities'), `workflow code reaches activity code: ${name}`);
      for (const spec of valueImports(file)) {
        if (spec.startsWith('.')) continue;
        assert.ok(!NODE.has(spec), `${name} imports the Node module ${spec}`);
        assert.ok(WORKFLOW_PACKAGES.has(spec), `${name} imports ${spec}, which the workflow sandbox may not run`);
      }
    }
  });

  it('activities never import workflow code, and only worker.ts joins the two', () => {
    const activityFiles = sources(SRC).filter((f) => /\/activities(\/|\.ts$)/.test(path.relative(SRC, f)));
    assert.ok(activityFiles.length > 10);
    for (const file of activityFiles) {
      for (const spec of valueImports(file)) {
        assert.ok(!/workflow/.test(spec), `${path.relative(SRC, file)} imports ${spec}`);
      }
    }
    const joiners = sources(SRC).filter((file) => {
      const specs = valueImports(file);
      return (
        specs.some((s) => s.endsWith('/activities') || s === './activities') && specs.some((s) => s === './workflows' || s.endsWith('/workflows'))
      );
    });
    assert.deepEqual(
      joiners.map((f) => path.relative(SRC, f)),
      [],
      'worker.ts finds the workflows by path (require.resolve), never by import',
    );
  });

  it('the workflow bundle exports exactly the workflows of the registry, under their own names', () => {
    const registered = JOB_TYPES.map((t) => t.workflow);
    assert.deepEqual(
      Object.keys(bundled).sort(),
      registered.map((w) => w.name).sort(),
      'src/workflows/index.ts and src/kinds/registry.ts list the same job types',
    );
    for (const workflow of registered) assert.equal((bundled as Record<string, unknown>)[workflow.name], workflow);
  });

  it('each kind is one folder: its message, contract, workflow and definition live under src/kinds/<kind>/', () => {
    for (const kind of KINDS) {
      for (const file of ['message.ts', 'contract.ts', 'workflow.ts', 'kind.ts']) {
        assert.ok(fs.existsSync(path.join(SRC, 'kinds', kind.name, file)), `src/kinds/${kind.name}/${file}`);
      }
    }
  });
});

describe('what a worker loads', () => {
  it('a worker on the fs store never loads the AWS SDK (about 12 MiB it would carry for nothing)', () => {
    const dataDir = path.join(os.tmpdir(), 'courier-arch-store');
    const script = `
      const { loadConfig } = require('./src/config');
      const { openStore } = require('./src/stores');
      require('./src/worker');
      const env = { COURIER_DATA_DIR: ${JSON.stringify(dataDir)} };
      openStore(loadConfig(env));
      const aws = () => Object.keys(require.cache).some((f) => f.includes('@aws-sdk/client-s3'));
      const before = aws();
      openStore(loadConfig({ ...env, COURIER_STORE: 's3://bucket/prefix' }));
      console.log(JSON.stringify({ before, after: aws() }));`;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: path.resolve(__dirname, '..'), encoding: 'utf8' });
    assert.deepEqual(JSON.parse(out.trim().split('\n').at(-1)!), { before: false, after: true }, 'loaded only once an S3 store is opened');
  });
});
