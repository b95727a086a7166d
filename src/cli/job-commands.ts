import fs from 'node:fs';
import type { Command } from 'commander';
import { cancelJob, connectClient, getJob, listJobs, pauseJob, resumeJob, submit, waitForJob, type JobView } from '../client';
import { loadConfig, type Config } from '../config';
import type { StatusEntry } from '../jobs/status';
import { STATUS_NAMES } from '../jobs/status';
import { JOB_TYPE_NAMES, KINDS, meterOf, parseMessage, parseMessageJson, summaryOf, type Message } from '../kinds/registry';
import { parseJobFilter } from '../operations/job-pages';
import { hostTag } from '../security/host-tags';
import { formatDuration } from './format';
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
    else process.stdout.write(`${summaryOf(result)} (${formatDuration(Date.now() - started)})\n`);
  } catch (err) {
    view?.stop();
    throw err;
  }
}

function printStatus(view: JobView): void {
  const status = view.progress?.status && view.status === 'running' ? `${view.status}, ${view.progress.status}` : view.status;
  const lines = [`job ${view.jobId} (${view.kind}): ${status}`, `started ${view.startTime.toISOString()}`];
  if (view.closeTime) lines.push(`ended   ${view.closeTime.toISOString()}`);
  if (view.host) lines.push(`host    ${view.host}`);
  const p = view.progress;
  if (p) {
    lines.push(`phase   ${p.phase}`, `done    ${meterOf(p).text}`);
    if (p.lastError) lines.push(`last error: ${p.lastError}`);
    for (const r of view.retrying ?? [])
      lines.push(
        `retrying ${r.step} (attempt ${r.attempt}${r.nextAttemptAt ? `, next at ${r.nextAttemptAt.toISOString()}` : ''}): ${r.lastError ?? 'failed'}`,
      );
    if (p.holds?.length) lines.push(`held by ${p.holds.join(', ')}: no new work until released (\`courier release SCOPE NAME\`)`);
  } else if (view.status === 'running') {
    lines.push('progress: no worker answered the query; is `courier worker` running?');
  }
  if (view.result) lines.push(summaryOf(view.result, view.kind));
  if (view.error) lines.push(`cause: ${view.error}`);
  if (view.statusLog?.length) {
    lines.push('status log:', ...view.statusLog.map((e: StatusEntry) => `  ${e.at}  ${e.status}${e.note ? `  ${e.note}` : ''}`));
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

export function registerJobCommands(program: Command): void {
  // Each kind's own command (backup, restore, etl, …) comes from its folder.
  for (const kind of KINDS) kind.command?.(program, async (message, options) => submitAndFollow(loadConfig(), parseMessage(message), options));

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
    .option('--kind <kind>', JOB_TYPE_NAMES.join(', '))
    .option('--project <project>', 'project name')
    .option('--host <name>', 'jobs whose file steps run on this host')
    .option('--text <prefix>', 'jobs whose id starts with this')
    .option('--limit <n>', 'at most this many', '50')
    .option('--json', 'print JSON for scripts')
    .action(async (opts: { status?: string; kind?: string; project?: string; host?: string; text?: string; limit: string; json?: boolean }) => {
      // Checked before connecting: a bad filter is the caller's mistake, named, not an empty list.
      const parsed = parseJobFilter({ status: opts.status, kind: opts.kind, project: opts.project, host: opts.host, text: opts.text });
      const config = loadConfig();
      // Jobs carry a host as its queue knows it: with the codec on, its tag.
      const filter = parsed.host ? { ...parsed, host: hostTag(config.codecKeys, parsed.host) } : parsed;
      const client = await connectClient(config);
      try {
        const jobs = await listJobs(client, filter, Number(opts.limit) || 50);
        if (opts.json) return printJson(jobs);
        for (const job of jobs) {
          process.stdout.write(
            `${job.startTime.toISOString()}  ${(job.status ?? '?').padEnd(18)} ${(job.kind ?? '?').padEnd(13)} ${job.jobId}${job.project ? `  [${job.project}]` : ''}${job.host ? `  @${job.host}` : ''}\n`,
          );
        }
        if (jobs.length === 0) process.stderr.write('no jobs match\n');
      } finally {
        await client.connection.close();
      }
    });
}
