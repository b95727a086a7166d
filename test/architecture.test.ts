import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';

const SRC = path.resolve(__dirname, '..', 'src');

function sources(dir: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => path.join(dir, f));
}

/** Value imports (type-only imports vanish at compile time and are fine anywhere). */
function valueImports(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  return [...text.matchAll(/^import\s+(?!type\s)[^;]*?from\s+'([^']+)'/gms)].map((m) => m[1]);
}

describe('the layering DESIGN.md asks for', () => {
  it('workflow code imports only the workflow SDK, the common SDK and pure project modules', () => {
    const pure = new Set(['../jobs', '../search-attributes', '../etl/layout']);
    for (const file of sources(path.join(SRC, 'workflows'))) {
      for (const spec of valueImports(file)) {
        const allowed = spec === '@temporalio/workflow' || spec === '@temporalio/common' || spec.startsWith('./') || pure.has(spec);
        assert.ok(allowed, `${path.relative(SRC, file)} imports ${spec}`);
      }
    }
  });

  it('the pure modules that workflows import have no Node or I/O dependencies', () => {
    for (const name of ['jobs.ts', 'search-attributes.ts', 'etl/layout.ts']) {
      for (const spec of valueImports(path.join(SRC, name))) {
        assert.ok(spec === '@temporalio/common' || spec.startsWith('./'), `${name} imports ${spec}`);
      }
    }
  });

  it('activities never import workflow code, and only worker.ts joins the two', () => {
    for (const file of sources(path.join(SRC, 'activities'))) {
      for (const spec of valueImports(file)) assert.ok(!spec.includes('workflows'), `${path.relative(SRC, file)} imports ${spec}`);
    }
    const joiners = sources(SRC).filter((file) => {
      const specs = valueImports(file);
      return specs.some((s) => s.endsWith('/activities') || s === './activities') && fs.readFileSync(file, 'utf8').includes("'./workflows'");
    });
    assert.deepEqual(
      joiners.map((f) => path.relative(SRC, f)),
      ['worker.ts'],
    );
  });
});
