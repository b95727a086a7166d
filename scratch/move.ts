// Moves files and rewrites every relative import so it points at the new place.
import fs from 'node:fs';
import path from 'node:path';
import { execSync } from 'node:child_process';
const root = '/work/main';
const moves: Record<string, string> = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const abs = (p: string) => path.join(root, p);
const files = execSync('git ls-files "*.ts"', { cwd: root, encoding: 'utf8' }).trim().split('\n');
const strip = (p: string) => p.replace(/\.ts$/, '');
// old module id (absolute, no ext) -> new module id
const map = new Map<string, string>();
for (const [from, to] of Object.entries(moves)) map.set(strip(abs(from)), strip(abs(to)));
function resolveOld(fromFile: string, spec: string): string | undefined {
  const base = path.resolve(path.dirname(fromFile), spec);
  for (const c of [base, base + '/index']) if (fs.existsSync(c + '.ts')) return c;
  return undefined;
}
const newLocation = (file: string) => { const m = map.get(strip(file)); return m ? m + '.ts' : file; };
const edits: [string, string][] = [];
const toRemove: string[] = [];
for (const rel of files) {
  const file = abs(rel);
  const text = fs.readFileSync(file, 'utf8');
  const newFile = newLocation(file);
  const out = text.replace(/((?:from|import|require)\s*\(?\s*)'(\.{1,2}\/[^']*|\.{1,2})'/g, (all, pre, spec) => {
    const target = resolveOld(file, spec);
    if (!target) return all;
    const indexed = target.endsWith('/index') && !spec.endsWith('/index');
    let newTarget = map.get(target) ?? target;
    if ((indexed || !spec.endsWith('/index')) && newTarget.endsWith('/index')) newTarget = newTarget.slice(0, -6);
    let r = path.relative(path.dirname(newFile), newTarget);
    if (!r.startsWith('.')) r = './' + r;
    return `${pre}'${r}'`;
  });
  edits.push([newFile, out]);
  if (newFile !== file) toRemove.push(file);
}
for (const f of toRemove) fs.rmSync(f);
for (const [f, t] of edits) { fs.mkdirSync(path.dirname(f), { recursive: true }); fs.writeFileSync(f, t); }
console.log('moved', Object.keys(moves).length);
