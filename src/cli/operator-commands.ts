import type { Command } from 'commander';
import type { Client } from '@temporalio/client';
import { connectClient, getJob, statusLogOf } from '../client';
import { loadConfig, type Config } from '../config';
import { retryJob } from '../operations/retry-job';
import { describeHosts, describeQueues, POLLER_STALE_MS, type QueueView } from '../operations/task-queues';
import { printJson } from './output';
import type { Hold } from '../jobs/holds';
import { listHolds } from '../operations/holds';
import { openStore } from '../stores';

/** Runs a command with a client, closing it afterwards. */
export async function withClient(work: (client: Client, config: Config) => Promise<void>): Promise<void> {
  const config = loadConfig();
  const client = await connectClient(config);
  try {
    await work(client, config);
  } finally {
    await client.connection.close();
  }
}

/** A plain text table: a header, then one row per item, columns padded to the widest cell. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ');
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

/** Holds as a table: what, since when, why. */
export function holdRows(holds: Hold[]): string {
  return table(
    ['HOLD', 'SINCE', 'NOTE'],
    holds.map((h) => [h.id, h.at, h.note ?? '']),
  );
}

function lastPoll(queue: QueueView): string {
  const times = [...queue.workflowPollers, ...queue.activityPollers].map((p) => p.lastAccessTime).filter(Boolean) as string[];
  return times.sort().at(-1) ?? '-';
}

/** The operator's commands that mirror the HTTP API: retry, queues, logs. */
export function registerOperatorCommands(program: Command): void {
  program
    .command('retry')
    .description('start a job that failed or was cancelled again from its original message, as a new run of the same id')
    .argument('<id>', 'job id')
    .option('--json', 'print JSON for scripts')
    .action((id: string, opts: { json?: boolean }) =>
      withClient(async (client, config) => {
        const submission = await retryJob(client, config, id);
        if (opts.json) printJson(await getJob(client, submission.jobId));
        else process.stdout.write(`${submission.jobId}: started again\n`);
      }),
    );

  program
    .command('queues')
    .description('every task queue courier uses, with its pollers (workers alive, last poll) and backlog')
    .option('--json', 'print JSON for scripts')
    .action((opts: { json?: boolean }) =>
      withClient(async (client, config) => {
        const [queues, hosts, holds] = await Promise.all([
          describeQueues(client, config),
          describeHosts(client, config),
          listHolds(openStore(config)),
        ]);
        if (opts.json) return printJson({ queues, hosts, holds });
        const alive = (pollers: QueueView['workflowPollers']) => String(pollers.filter((p) => p.alive).length);
        const rows = queues.map((q) => [
          q.name,
          q.role === 'dispatch' ? `dispatch ${q.topic}` : q.role,
          alive(q.workflowPollers),
          alive(q.activityPollers),
          String(q.backlog),
          lastPoll(q),
        ]);
        process.stdout.write(table(['QUEUE', 'ROLE', 'WF POLLERS', 'ACT POLLERS', 'BACKLOG', 'LAST POLL'], rows));
        const pollers = queues.flatMap((q) => [...q.workflowPollers, ...q.activityPollers]);
        const live = new Set(pollers.filter((p) => p.alive).map((p) => p.identity));
        const gone = new Set(pollers.filter((p) => !p.alive && !live.has(p.identity)).map((p) => p.identity));
        if (live.size > 0) process.stdout.write(`workers: ${[...live].sort().join(', ')}\n`);
        if (gone.size > 0) process.stdout.write(`gone (no poll for over ${POLLER_STALE_MS / 1000} s): ${[...gone].sort().join(', ')}\n`);
        if (hosts.length > 0) {
          process.stdout.write('\n');
          process.stdout.write(
            table(
              ['HOST', 'QUEUE', 'POLLERS', 'RUNNING JOBS', 'LAST POLL'],
              hosts.map((h) => [h.alive ? h.name : `${h.name} (gone)`, h.queue, String(h.pollers), String(h.runningJobs), h.lastPoll ?? '-']),
            ),
          );
        }
        if (holds.length > 0) process.stdout.write(`\nheld (no new work; \`courier release SCOPE NAME\` lets it go on):\n${holdRows(holds)}`);
      }),
    );

  program
    .command('logs')
    .description("a job's status log: every transition with its time and note")
    .argument('<id>', 'job id')
    .option('--json', 'print JSON for scripts')
    .action((id: string, opts: { json?: boolean }) =>
      withClient(async (client) => {
        await getJob(client, id); // names an unknown id clearly before the query does
        const log = await statusLogOf(client, id);
        if (opts.json) return printJson(log);
        process.stdout.write(
          table(
            ['TIME', 'STATUS', 'NOTE'],
            log.map((e) => [e.at, e.status, e.note ?? '']),
          ),
        );
      }),
    );
}
