import { WorkflowIdReusePolicy } from '@temporalio/common';
import { formatBytes } from '../../cli/format';
import type { MessageKind } from '../kind';
import { settingsFor } from '../settings';
import { pruneActivities } from './activities';
import type { PruneInput, PruneProgress, PruneResult } from './contract';
import { pruneMessage } from './message';
import { prune } from './workflow';

export const pruneKind: MessageKind<'prune', typeof pruneMessage, PruneInput, PruneResult, PruneProgress, ReturnType<typeof pruneActivities>> = {
  name: 'prune',
  description: 'remove from the repository what no snapshot uses, sparing what running backups rely on',
  schema: pruneMessage,
  workflow: prune,
  // One prune at a time: a second one started meanwhile is refused, not run beside it.
  jobId: () => 'prune',
  reusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
  activities: pruneActivities,
  input: (config, message) => ({ message, settings: settingsFor(config, message) }),
  summary: (r) =>
    `prune: ${r.packsDeleted} pack(s) deleted (${formatBytes(r.bytesFreed)} freed), ${r.packsRepacked} repacked, ${r.packsSpared} spared` +
    `${r.waitedFor.length ? `, waited for ${r.waitedFor.length} running backup(s)` : ''}, job ${r.jobId}`,
  meter: (p) => ({
    done: p.packsDeleted,
    total: p.packsCondemned,
    unit: 'packs',
    text: p.waitingFor > 0 ? `waiting for ${p.waitingFor} running backup(s)` : `${p.packsDeleted}/${p.packsCondemned} pack(s) removed`,
  }),
  command(program, submit) {
    program
      .command('prune')
      .description(this.description)
      .option('--repack-unused <share>', 'repack a pack once more than this share of it is unused (0..1, default 0.2)', Number)
      .option('--no-wait', 'print the job id and return at once')
      .option('--json', 'print JSON for scripts')
      .action(async (opts: { repackUnused?: number; wait?: boolean; json?: boolean }) =>
        submit({ kind: 'prune', ...(opts.repackUnused !== undefined ? { repackUnused: opts.repackUnused } : {}) }, opts),
      );
  },
};
