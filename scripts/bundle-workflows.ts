/**
 * Bundles the workflow code once, for images and hosts where workers should
 * start without webpack: `tsx scripts/bundle-workflows.ts <out.js>`, then run
 * workers with COURIER_WORKFLOW_BUNDLE=<out.js>.
 */
import fs from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { ENCODED_FAILURES } from '../src/security/codec';
import { encodedFailuresBundle } from '../src/worker';

async function main(): Promise<void> {
  const out = process.argv[2];
  if (!out) throw new Error('usage: tsx scripts/bundle-workflows.ts <output.js>');
  fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  // Two bundles: the plain one, and one whose failures carry their texts in the (encrypted) payload, for workers with the codec on.
  for (const [file, failureConverterPath] of [
    [out, undefined],
    [encodedFailuresBundle(out), ENCODED_FAILURES],
  ] as const) {
    const { code } = await bundleWorkflowCode({ workflowsPath: require.resolve('../src/workflows'), failureConverterPath });
    fs.writeFileSync(file, code);
    console.log(`workflow bundle: ${file} (${(code.length / 1024).toFixed(0)} KiB)`);
  }
}

main().catch((err: Error) => {
  console.error(`bundling the workflows failed: ${err.message}`);
  process.exit(1);
});
