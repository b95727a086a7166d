import { WorkflowIdReusePolicy } from '@temporalio/common';
import path from 'node:path';
import { formatBytes } from '../../cli/format';
import { transferMeter } from '../backup/kind';
import { digest } from '../digest';
import type { MessageKind } from '../kind';
import { settingsFor } from '../settings';
import type { RestoreInput, RestoreProgress, RestoreResult } from './contract';
import { restoreMessage } from './message';
import { restoreActivities } from './bound-activities';
import { restore } from './workflow';

export const restoreKind: MessageKind<
  'restore',
  typeof restoreMessage,
  RestoreInput,
  RestoreResult,
  RestoreProgress,
  ReturnType<typeof restoreActivities>
> = {
  name: 'restore',
  description: 'restore a backup to a file, verified part by part and as a whole',
  schema: restoreMessage,
  workflow: restore,
  jobId: (m) => `restore-${m.name}-${digest(m.dest)}`,
  // A restore may be repeated: the file may have been lost again.
  reusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
  input: (config, message) => ({ message, settings: settingsFor(config, message) }),
  summary: (r) =>
    `restored ${r.name}${r.snapshot ? ` (snapshot ${r.snapshot})` : ''} to ${r.dest}: ${formatBytes(r.size)}, sha256 ${r.sha256} verified, job ${r.jobId}`,
  meter: transferMeter,
  activities: restoreActivities,
  command(program, submit) {
    program
      .command('restore')
      .description(this.description)
      .argument('<name>', 'backup name')
      .argument('<dest>', 'file to write')
      .option('--id <id>', 'job id (default: derived from name and destination)')
      .option('--snapshot <id>', 'which snapshot (`courier snapshots NAME`; default: the latest)')
      .option('--host <name>', 'the host that must receive the file (default: whichever worker takes the job)')
      .option('--no-wait', 'print the job id and return at once')
      .option('--json', 'print JSON for scripts')
      .action(async (name: string, dest: string, opts: { id?: string; snapshot?: string; host?: string; wait?: boolean; json?: boolean }) => {
        await submit(
          {
            kind: 'restore',
            name,
            dest: path.resolve(dest),
            ...(opts.id ? { id: opts.id } : {}),
            ...(opts.snapshot ? { snapshot: opts.snapshot } : {}),
            ...(opts.host ? { host: opts.host } : {}),
          },
          opts,
        );
      });
  },
};
