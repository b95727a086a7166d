import { WorkflowIdReusePolicy } from '@temporalio/common';
import path from 'node:path';
import { formatBytes } from '../../cli/format';
import { MessageError } from '../../jobs/message-error';
import { parseSize } from '../../config';
import { digest } from '../digest';
import type { MessageKind, Meter } from '../kind';
import { settingsFor } from '../settings';
import type { BackupInput, BackupProgress, BackupResult, TransferProgress } from './contract';
import { backupMessage } from './message';
import { backupActivities } from './activities';
import { backup } from './workflow';

/** Parts and bytes: what a backup and a restore move. */
export const transferMeter = (p: TransferProgress): Meter => ({
  done: p.bytesDone,
  total: p.bytesTotal,
  unit: 'bytes',
  text: `parts ${p.partsDone}/${p.partsTotal}, ${formatBytes(p.bytesDone)} / ${formatBytes(p.bytesTotal)}`,
});

export const backupKind: MessageKind<
  'backup',
  typeof backupMessage,
  BackupInput,
  BackupResult,
  BackupProgress,
  ReturnType<typeof backupActivities>
> = {
  name: 'backup',
  description: 'back up one file: split, upload and verify every part, store the manifest',
  schema: backupMessage,
  workflow: backup,
  jobId: (m) => `backup-${m.name}-${digest(m.source, String(m.partSize ?? ''), m.checksums ?? '')}`,
  // A backup done once stays done (resubmitting it finds the finished job; a new backup takes a new name); a failed one may run again.
  reusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
  input: (config, message) => ({ message, settings: settingsFor(config, message) }),
  summary: (r) => `backup ${r.name}: ${formatBytes(r.size)} in ${r.partCount} part(s), sha256 ${r.sha256}, manifest ${r.manifestKey}, job ${r.jobId}`,
  meter: transferMeter,
  activities: backupActivities,
  command(program, submit) {
    program
      .command('backup')
      .description(this.description)
      .argument('<file>', 'the file to back up')
      .option('--name <name>', 'backup name in the store (default: the file name)')
      .option('--id <id>', 'job id (default: derived from name and source)')
      .option('--part-size <size>', 'part size, e.g. 64MiB')
      .option('--md5', 'also record md5 checksums')
      .option('--host <name>', 'the host whose disk holds the file (default: whichever worker takes the job; the file must be there)')
      .option('--wait', 'show progress and wait for the job to finish')
      .option('--json', 'print JSON for scripts')
      .action(
        async (
          file: string,
          opts: { name?: string; id?: string; partSize?: string; md5?: boolean; host?: string; wait?: boolean; json?: boolean },
        ) => {
          const source = path.resolve(file);
          await submit(
            {
              kind: 'backup',
              name: opts.name ?? path.basename(source),
              source,
              ...(opts.id ? { id: opts.id } : {}),
              ...(opts.partSize ? { partSize: sizeOption('--part-size', opts.partSize) } : {}),
              ...(opts.md5 ? { checksums: 'sha256+md5' } : {}),
              ...(opts.host ? { host: opts.host } : {}),
            },
            opts,
          );
        },
      );
  },
};

function sizeOption(flag: string, text: string): number {
  try {
    return parseSize(text);
  } catch (err) {
    throw new MessageError(`${flag}: ${(err as Error).message}`, ['partSize']);
  }
}
