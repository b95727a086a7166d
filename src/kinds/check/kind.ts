import { WorkflowIdReusePolicy } from '@temporalio/common';
import { formatBytes } from '../../cli/format';
import type { MessageKind } from '../kind';
import { settingsFor } from '../settings';
import { checkActivities } from './activities';
import type { CheckInput, CheckProgress, CheckResult } from './contract';
import { checkMessage } from './message';
import { check } from './workflow';

export const checkKind: MessageKind<'check', typeof checkMessage, CheckInput, CheckResult, CheckProgress, ReturnType<typeof checkActivities>> = {
  name: 'check',
  description: "check the repository's structure and read back a share of its chunks; damage fails the job and is mailed",
  schema: checkMessage,
  workflow: check,
  // One check at a time: two would read the same slice.
  jobId: () => 'check',
  reusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
  activities: checkActivities,
  input: (config, message) => ({ message, settings: settingsFor(config, message) }),
  summary: (r) =>
    `check: ${r.snapshots} snapshot(s), ${r.chunksChecked} of ${r.chunksTotal} chunk(s) read (slice ${r.slice}/${r.of}, ${formatBytes(r.bytesRead)}), no damage, job ${r.jobId}`,
  meter: (p) => ({ done: p.chunksChecked, total: p.chunksChecked, unit: 'chunks', text: `${p.chunksChecked} chunk(s) checked` }),
  command(program, submit) {
    program
      .command('check')
      .description(this.description)
      .option('--read-data-subset <share>', 'read this share of the chunks, the next slice each run ("5%"), or one slice ("2/20")', '5%')
      .option('--no-wait', 'print the job id and return at once')
      .option('--json', 'print JSON for scripts')
      .action(async (opts: { readDataSubset: string; wait?: boolean; json?: boolean }) =>
        submit({ kind: 'check', readDataSubset: opts.readDataSubset }, opts),
      );
  },
};
