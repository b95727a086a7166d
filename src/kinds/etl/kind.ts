import { WorkflowIdReusePolicy } from '@temporalio/common';
import fs from 'node:fs';
import path from 'node:path';
import { formatBytes } from '../../cli/format';
import type { Config } from '../../config';
import { MessageError } from '../../jobs/message-error';
import { digest } from '../digest';
import type { JobType, MessageKind } from '../kind';
import { settingsFor } from '../settings';
import { etlCleanup } from './cleanup-workflow';
import type {
  CleanupInput,
  CleanupProgress,
  CleanupResult,
  EtlInput,
  EtlProgress,
  EtlResult,
  LoadInput,
  LoadProgress,
  LoadResult,
  TransformInput,
  TransformProgress,
  TransformResult,
} from './contract';
import { etlTransform } from './transform-workflow';
import { etlLoad } from './load-workflow';
import { etlMessage } from './message';
import { EtlConfigError, pipelineOf } from './pipelines';
import { etlActivities } from './activities';
import { etl } from './workflow';

/**
 * An unknown pipeline is refused when this machine has the pipeline file; a
 * client without it leaves the check to the worker, which always has it.
 */
function checkPipeline(config: Config, pipeline: string): void {
  if (!fs.existsSync(config.etl.configFile)) return;
  try {
    pipelineOf(config.etl.configFile, pipeline);
  } catch (err) {
    if (err instanceof EtlConfigError) throw new MessageError(`pipeline: ${err.message}`, ['pipeline']);
    throw err;
  }
}

const tallies = (locations: EtlResult['locations']) =>
  locations.map(
    (l) =>
      `  ${l.location}: ${l.records} record(s) loaded, ${l.inserted} new${l.failedBatches ? `, ${l.failedBatches} batch(es) failed (see L/${l.location}/failed)` : ''}`,
  );

export const etlKind: MessageKind<'etl', typeof etlMessage, EtlInput, EtlResult, EtlProgress, ReturnType<typeof etlActivities>> = {
  name: 'etl',
  description: 'extract a file or the matching files of a directory through an ETL pipeline (seed 002)',
  schema: etlMessage,
  workflow: etl,
  jobId: (m) => `etl-${m.pipeline}-${digest(m.source, (m.patterns ?? []).join(','))}`,
  // A directory extracted again later may hold new files; loads are keyed, so repeats add nothing twice.
  reusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
  activities: etlActivities,
  input: (config, message) => {
    checkPipeline(config, message.pipeline);
    return { message, settings: settingsFor(config, message), loadAttempts: config.etl.loadAttempts };
  },
  summary: (r) =>
    [`etl ${r.pipeline} from ${r.source}: ${r.transformsStarted} transform job(s) started, job ${r.jobId}`, ...tallies(r.locations)].join('\n'),
  meter: (p) => ({
    done: p.phase === 'extract' ? p.filesDone : p.transformsDone,
    total: p.phase === 'extract' ? p.filesTotal : p.transformsStarted,
    unit: p.phase === 'extract' ? 'files' : 'transforms',
    text:
      `files ${p.filesDone}/${p.filesTotal} (${formatBytes(p.bytesDone)} / ${formatBytes(p.bytesTotal)})` +
      `${p.rejected ? `, ${p.rejected} rejected` : ''}, transforms ${p.transformsDone}/${p.transformsStarted} done`,
  }),
  command(program, submit) {
    program
      .command('etl')
      .description(this.description)
      .argument('<source>', 'a file or a directory')
      .requiredOption('--pipeline <name>', 'a pipeline of the pipeline file (COURIER_ETL_CONFIG)')
      .option('--pattern <glob...>', "file-name globs (default: the pipeline's patterns)")
      .option('--move', 'move the files into E/working instead of copying them')
      .option('--id <id>', 'job id (default: derived from pipeline and source)')
      .option('--host <name>', 'the host whose disk holds the source and keeps the ETL tree (default: whichever worker takes the job)')
      .option('--wait', 'show progress and wait for every transform and load to finish')
      .option('--json', 'print JSON for scripts')
      .action(
        async (
          source: string,
          opts: { pipeline: string; pattern?: string[]; move?: boolean; id?: string; host?: string; wait?: boolean; json?: boolean },
        ) => {
          await submit(
            {
              kind: 'etl',
              pipeline: opts.pipeline,
              source: path.resolve(source),
              ...(opts.pattern ? { patterns: opts.pattern } : {}),
              ...(opts.move ? { move: true } : {}),
              ...(opts.id ? { id: opts.id } : {}),
              ...(opts.host ? { host: opts.host } : {}),
            },
            opts,
          );
        },
      );
  },
};

/** One valid file: validated, cut into batches, each loaded by a child job. */
export const etlTransformType: JobType<'etl-transform', TransformInput, TransformResult, TransformProgress> = {
  name: 'etl-transform',
  workflow: etlTransform,
  summary: (r) =>
    [
      `etl-transform ${r.file}: ${r.records} record(s) in ${r.loadsStarted} batch(es)${r.failedLoads ? `, ${r.failedLoads} load(s) failed` : ''}`,
      ...tallies(r.locations),
    ].join('\n'),
  meter: (p) => ({
    done: p.batchesDone,
    total: p.batchesTotal,
    unit: 'batches',
    text: `${p.records} record(s), batches ${p.batchesDone}/${p.batchesTotal} loaded`,
  }),
};

/** One batch into every storage location. */
export const etlLoadType: JobType<'etl-load', LoadInput, LoadResult, LoadProgress> = {
  name: 'etl-load',
  workflow: etlLoad,
  summary: (r) =>
    [
      `etl-load ${r.batch}: ${r.records} record(s)`,
      ...r.locations.map((l) => `  ${l.location}: ${l.outcome}, ${l.inserted} new${l.error ? `: ${l.error}` : ''}`),
    ].join('\n'),
  meter: (p) => ({
    done: p.locationsDone,
    total: p.locationsTotal,
    unit: 'locations',
    text: `${p.records} record(s), locations ${p.locationsDone}/${p.locationsTotal}`,
  }),
};

/** The scheduled cleanup: resolved files archived, stale ones reported. */
export const etlCleanupType: JobType<'etl-cleanup', CleanupInput, CleanupResult, CleanupProgress> = {
  name: 'etl-cleanup',
  workflow: etlCleanup,
  summary: (r) =>
    `etl-cleanup: ${r.filesArchived} file(s) archived${r.archive ? ` in ${r.archive}` : ''}, ${r.staleFiles.length} stale file(s) reported`,
  meter: (p) => ({ done: p.filesArchived, total: p.filesArchived, unit: 'files', text: `${p.filesArchived} file(s) archived` }),
};
