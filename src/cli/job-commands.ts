import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import {
  cancelJob,
  connectClient,
  getJob,
  listJobs,
  pauseJob,
  resumeJob,
  submit,
  waitForJob,
  type JobFilter,
  type JobResult,
  type JobView,
} from '../client';
import { loadConfig, parseSize, type Config } from '../config';
import type { BackupResult, DispatchResult, EtlResult, PushResult, RestoreResult, StatusEntry } from '../jobs';
import { STATUS_NAMES } from '../jobs';
import { parseMessageJson, type Message } from '../kinds/messages';
import { formatBytes, formatDuration } from './format';
import { CliError, EXIT, printJson } from './output';
import { progressView } from './progress-bar';

interface WaitOptions {
  wait?: boolean;
  json?: boolean;
}

/** Submits, then either prints the job id alone on the last line or follows the job to its end. */
export async function submitAndFollow(config: Config, message: Message, options: WaitOptions): Promise<void> {
  const client = await connectClient(config);
  try {
    const submission = await submit(client, config, message);
    if (submission.alreadyFinished) {
      process.stderr.write(`job ${submission.jobId} already ran to completion for this message; showing its result\n`);
    }
    if (!options.wait) {
      if (options.json) printJson({ jobId: submission.jobId, kind: submission.kind });
      else process.stdout.write(`${submission.kind} job started\n${submission.jobId}\n`);
      return;
    }
    await follow(client, submission.jobId, options);
  } finally {
    await client.connection.close();
  }
}

async function follow(client: Awaited<ReturnType<typeof connectClient>>, jobId: string, options: WaitOptions) {
  const view = options.json ? undefined : progressView();
  const started = Date.now();
  try {
    const result = await waitForJob(client, jobId, (p) => view?.update(p));
    view?.stop();
    if (options.json) printJson({ jobId, status: 'completed', result });
    else process.stdout.write(`${summary(result)} (${formatDuration(Date.now() - started)})\n`);
  } catch (err) {
    view?.stop();
    throw err;
  }
}

function summary(result: JobResult): string {
  if ('transformsStarted' in result) {
    const r = result as EtlResult;
    const locations = r.locations.map(
      (l) =>
        `  ${l.location}: ${l.records} record(s) loaded, ${l.inserted} new${l.failedBatches ? `, ${l.failedBatches} batch(es) failed (see L/${l.location}/failed)` : ''}`,
    );
    return [`etl ${r.pipeline} from ${r.source}: ${r.transformsStarted} transform job(s) started, job ${r.jobId}`, ...locations].join('\n');
  }
  if ('topic' in result) {
    const r = result as DispatchResult;
    return `dispatch ${r.jobId}: format ${r.format} done by ${r.worker || 'a worker'} on topic ${r.topic}${r.checks ? ` after ${r.checks} check(s)` : ''}: ${JSON.stringify(r.output)}`;
  }
  if ('hosts' in result) {
    const r = result as PushResult;
    const hosts = r.hosts.map(
      (h) => `  ${h.host}: ${h.outcome}${h.outcome === 'delivered' ? (h.written ? '' : ' (already there)') : `: ${h.cause}`}`,
    );
    return [`push ${r.name} to ${r.dest}: ${formatBytes(r.size)}, sha256 ${r.sha256}, job ${r.jobId}`, ...hosts].join('\n');
  }
  if ('manifestKey' in result) {
    const r = result as BackupResult;
    return `backup ${r.name}: ${formatBytes(r.size)} in ${r.partCount} part(s), sha256 ${r.sha256}, manifest ${r.manifestKey}, job ${r.jobId}`;
  }
  const r = result as RestoreResult;
  return `restored ${r.name} to ${r.dest}: ${formatBytes(r.size)}, sha256 ${r.sha256} verified, job ${r.jobId}`;
}

function printStatus(view: JobView): void {
  const status = view.progress?.status && view.status === 'running' ? `${view.status}, ${view.progress.status}` : view.status;
  const lines = [`job ${view.jobId} (${view.kind}): ${status}`, `started ${view.startTime.toISOString()}`];
  if (view.closeTime) lines.push(`ended   ${view.closeTime.toISOString()}`);
  if (view.host) lines.push(`host    ${view.host}`);
  const p = view.progress;
  if (p) {
    lines.push(`phase   ${p.phase}`, `parts   ${p.partsDone}/${p.partsTotal}`, `bytes   ${formatBytes(p.bytesDone)} / ${formatBytes(p.bytesTotal)}`);
    if (p.lastError) lines.push(`last error: ${p.lastError}`);
  } else if (view.status === 'running') {
    lines.push('progress: no worker answered the query; is `courier worker` running?');
  }
  if (view.result) lines.push(summary(view.result));
  if (view.error) lines.push(`cause: ${view.error}`);
  if (view.statusLog?.length) {
    lines.push('status log:', ...view.statusLog.map((e: StatusEntry) => `  ${e.at}  ${e.status}${e.note ? `  ${e.note}` : ''}`));
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

const sourcePath = (file: string): string => path.resolve(file);

function sizeOption(flag: string, text: string): number {
  try {
    return parseSize(text);
  } catch (err) {
    throw new CliError(`${flag}: ${(err as Error).message}`, EXIT.badInput);
  }
}

export function registerJobCommands(program: Command): void {
  program
    .command('backup')
    .description('back up one file: split, upload and verify every part, store the manifest')
    .argument('<file>', 'the file to back up')
    .option('--name <name>', 'backup name in the store (default: the file name)')
    .option('--id <id>', 'job id (default: derived from name and source)')
    .option('--part-size <size>', 'part size, e.g. 64MiB')
    .option('--md5', 'also record md5 checksums')
    .option('--host <name>', 'the host whose disk holds the file (default: whichever worker takes the job; the file must be there)')
    .option('--wait', 'show progress and wait for the job to finish')
    .option('--json', 'print JSON for scripts')
    .action(async (file: string, opts: { name?: string; id?: string; partSize?: string; md5?: boolean; host?: string } & WaitOptions) => {
      const config = loadConfig();
      const source = sourcePath(file);
      const message = {
        kind: 'backup' as const,
        name: opts.name ?? path.basename(source),
        source,
        ...(opts.id ? { id: opts.id } : {}),
        ...(opts.partSize ? { partSize: sizeOption('--part-size', opts.partSize) } : {}),
        ...(opts.md5 ? { checksums: 'sha256+md5' as const } : {}),
        ...(opts.host ? { host: opts.host } : {}),
      };
      await submitAndFollow(config, message, opts);
    });

  program
    .command('restore')
    .description('restore a backup to a file, verified part by part and as a whole')
    .argument('<name>', 'backup name')
    .argument('<dest>', 'file to write')
    .option('--id <id>', 'job id (default: derived from name and destination)')
    .option('--host <name>', 'the host that must receive the file (default: whichever worker takes the job)')
    .option('--no-wait', 'print the job id and return at once')
    .option('--json', 'print JSON for scripts')
    .action(async (name: string, dest: string, opts: { id?: string; host?: string } & WaitOptions) => {
      const config = loadConfig();
      const message = {
        kind: 'restore' as const,
        name,
        dest: path.resolve(dest),
        ...(opts.id ? { id: opts.id } : {}),
        ...(opts.host ? { host: opts.host } : {}),
      };
      await submitAndFollow(config, message, opts);
    });

  program
    .command('status')
    .alias('show')
    .description("a job's status: phase, parts and bytes done, result or cause")
    .argument('<id>', 'job id')
    .option('--wait', 'wait until the job ends (exit 1 when it did not complete)')
    .option('--json', 'print JSON for scripts')
    .action(async (id: string, opts: WaitOptions) => {
      const config = loadConfig();
      const client = await connectClient(config);
      try {
        if (opts.wait) {
          await follow(client, id, opts);
          return;
        }
        const view = await getJob(client, id);
        if (opts.json) printJson(view);
        else printStatus(view);
        if (view.status !== 'running' && view.status !== 'completed') process.exitCode = EXIT.jobFailed;
      } finally {
        await client.connection.close();
      }
    });

  program
    .command('submit')
    .description('submit a JSON message of any kind (a file, or - for standard input)')
    .argument('<message>', 'message file, or -')
    .option('--wait', 'show progress and wait for the job to finish')
    .option('--json', 'print JSON for scripts')
    .action(async (file: string, opts: WaitOptions) => {
      const config = loadConfig();
      let text: string;
      try {
        text = fs.readFileSync(file === '-' ? 0 : file, 'utf8');
      } catch (err) {
        throw new CliError(`cannot read message ${file}: ${(err as Error).message}`, EXIT.badInput);
      }
      await submitAndFollow(config, parseMessageJson(text, file === '-' ? 'standard input' : file), opts);
    });

  const control = (name: string, description: string, act: typeof pauseJob, done: string) =>
    program
      .command(name)
      .description(description)
      .argument('<id>', 'job id')
      .option('--json', 'print the job as JSON for scripts')
      .action(async (id: string, opts: { json?: boolean }) => {
        const config = loadConfig();
        const client = await connectClient(config);
        try {
          await act(client, id);
          if (opts.json) printJson(await getJob(client, id));
          else process.stdout.write(`${id}: ${done}\n`);
        } finally {
          await client.connection.close();
        }
      });
  control('pause', 'stop scheduling new work for a job (work in flight finishes)', pauseJob, 'pause requested');
  control('resume', 'let a paused job go on', resumeJob, 'resume requested');
  control('cancel', 'cancel a job; it removes its staging data and ends as cancelled', cancelJob, 'cancellation requested');

  program
    .command('list')
    .description('jobs, newest first, filtered by their search attributes')
    .option('--status <status>', STATUS_NAMES.join(', '))
    .option('--kind <kind>', 'backup, restore, dispatch, push, etl, etl-transform, etl-load or etl-cleanup')
    .option('--project <project>', 'project name')
    .option('--host <name>', 'jobs whose file steps run on this host')
    .option('--limit <n>', 'at most this many', '50')
    .option('--json', 'print JSON for scripts')
    .action(async (opts: JobFilter & { limit: string; json?: boolean }) => {
      const config = loadConfig();
      const client = await connectClient(config);
      try {
        const jobs = await listJobs(
          client,
          { status: opts.status, kind: opts.kind, project: opts.project, host: opts.host },
          Number(opts.limit) || 50,
        );
        if (opts.json) return printJson(jobs);
        for (const job of jobs) {
          process.stdout.write(
            `${job.startTime.toISOString()}  ${(job.status ?? '?').padEnd(18)} ${(job.kind ?? '?').padEnd(9)} ${job.jobId}${job.project ? `  [${job.project}]` : ''}${job.host ? `  @${job.host}` : ''}\n`,
          );
        }
        if (jobs.length === 0) process.stderr.write('no jobs match\n');
      } finally {
        await client.connection.close();
      }
    });
}
