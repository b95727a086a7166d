import { WorkflowIdReusePolicy } from '@temporalio/common';
import type { MessageKind } from '../kind';
import { settingsFor } from '../settings';
import { forgetActivities } from './activities';
import type { ForgetInput, ForgetProgress, ForgetResult } from './contract';
import { forgetMessage } from './message';
import { forget } from './workflow';

const count = (value: string) => Number(value);

export const forgetKind: MessageKind<
  'forget',
  typeof forgetMessage,
  ForgetInput,
  ForgetResult,
  ForgetProgress,
  ReturnType<typeof forgetActivities>
> = {
  name: 'forget',
  description: "delete a name's snapshots that no keep rule keeps (their data goes at the next prune)",
  schema: forgetMessage,
  workflow: forget,
  jobId: (m) => `forget-${m.name}`,
  reusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
  activities: forgetActivities,
  input: (config, message) => ({ message, settings: settingsFor(config, message) }),
  summary: (r) =>
    `forget ${r.name} (${r.policy}): kept ${r.kept.length}, removed ${r.removed.length}${r.removed.length ? ` (${r.removed.map((s) => s.id).join(', ')})` : ''}, job ${r.jobId}`,
  meter: (p) => ({ done: p.removed, total: p.removed, unit: 'snapshots', text: `${p.removed} snapshot(s) removed` }),
  command(program, submit) {
    program
      .command('forget')
      .description(this.description)
      .argument('<name>', 'backup name')
      .option('--keep-last <n>', 'keep the n newest snapshots', count)
      .option('--keep-hourly <n>', 'keep the newest snapshot of each of the last n hours that have one', count)
      .option('--keep-daily <n>', 'the same per day', count)
      .option('--keep-weekly <n>', 'the same per ISO week', count)
      .option('--keep-monthly <n>', 'the same per month', count)
      .option('--keep-yearly <n>', 'the same per year', count)
      .option('--no-wait', 'print the job id and return at once')
      .option('--json', 'print JSON for scripts')
      .action(async (name: string, opts: Record<string, number | boolean | undefined>) => {
        const rules = ['keepLast', 'keepHourly', 'keepDaily', 'keepWeekly', 'keepMonthly', 'keepYearly'] as const;
        const policy = Object.fromEntries(rules.filter((rule) => opts[rule] !== undefined).map((rule) => [rule, opts[rule]]));
        await submit({ kind: 'forget', name, ...policy }, { wait: opts.wait as boolean | undefined, json: opts.json as boolean | undefined });
      });
  },
};
