import { WorkflowIdReusePolicy } from '@temporalio/common';
import { formatBytes } from '../../cli/format';
import type { MessageKind } from '../kind';
import { settingsFor } from '../settings';
import { verifyActivities } from './activities';
import type { VerifyInput, VerifyProgress, VerifyResult } from './contract';
import { verifyMessage } from './message';
import { verify } from './workflow';

export const verifyKind: MessageKind<
  'verify',
  typeof verifyMessage,
  VerifyInput,
  VerifyResult,
  VerifyProgress,
  ReturnType<typeof verifyActivities>
> = {
  name: 'verify',
  description:
    "read a name's latest snapshot back and check every chunk and the whole file's sha256 (a legacy backup: every part against its manifest), writing nothing",
  schema: verifyMessage,
  workflow: verify,
  jobId: (m) => `verify-${m.name}`,
  // A store can rot at any time: verifying again is always allowed.
  reusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
  activities: verifyActivities,
  input: (config, message) => ({ message, settings: settingsFor(config, message) }),
  summary: (r) =>
    `verify ${r.name}: ${r.partCount} part(s), ${formatBytes(r.size)}, ${r.bad.length ? `${r.bad.length} bad` : 'all match the manifest'}, job ${r.jobId}`,
  meter: (p) => ({ done: p.partsChecked, total: p.partsChecked, unit: 'parts', text: `${p.partsChecked} part(s) checked` }),
  command(program, submit) {
    program
      .command('verify')
      .description(this.description)
      .argument('<name>', 'backup name')
      .option('--wait', 'wait for the check to finish')
      .option('--json', 'print JSON for scripts')
      .action(async (name: string, opts: { wait?: boolean; json?: boolean }) => submit({ kind: 'verify', name }, opts));
  },
};
