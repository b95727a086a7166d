import { ApplicationFailure, isCancellation, ParentClosePolicy, startChild, workflowInfo } from '@temporalio/workflow';
import type { EtlInput, EtlProgress, EtlResult, LocationTally, TransformOutcome, TransformResult } from './contract';
import type { EtlMessage } from './message';
import { hostIdIn, withHolds } from '../../jobs/settings';
import { admit, type Submitted } from '../../workflows/admit';
import { STAGE_DIRS } from './layout';
import { CourierHost, CourierKind, CourierProject, CourierStatus } from '../../search-attributes';
import { quickStep } from '../../workflows/activity-options';
import { pinHost } from '../../workflows/host-pin';
import { etlActivities } from './workflow-options';
import { etlTransform } from './transform-workflow';
import { rootCause, trackJob } from '../../workflows/job-tracker';
import { takes } from '../../workflows/patches';
import type { Validation } from './activities/files';

function sum(into: LocationTally[], from: LocationTally[]): void {
  for (const t of from) {
    const tally = into.find((x) => x.location === t.location);
    if (!tally) into.push({ ...t });
    else {
      tally.records += t.records;
      tally.inserted += t.inserted;
      tally.failedBatches += t.failedBatches;
    }
  }
}

/**
 * Seed 002's E: prune the source to acceptable files, copy each into
 * E/working and check it. An invalid file goes to E/failed with a mail; a
 * valid one is handed to T/working with a Transform job of its own and filed
 * in E/resolved. The job ends when every Transform (and its Loads) has.
 */
export async function etl(started: EtlInput | Submitted<EtlMessage>): Promise<EtlResult> {
  const input = await admit<EtlInput>('etl', started);
  const { message, settings } = input;
  const { pipeline } = message;
  const job = trackJob<EtlProgress>({
    kind: 'etl',
    subject: `${pipeline} from ${message.source}`,
    project: message.project,
    settings,
    carried: input.tracker,
    counts: { filesDone: 0, filesTotal: 0, bytesDone: 0, bytesTotal: 0, rejected: 0, transformsStarted: 0, transformsDone: 0 },
  });
  const { progress } = job;
  // The files it extracts stay on this host's disk until their loads are done, so the job waits for the host rather than moving.
  const pin = pinHost(job, {
    settings: settings.hosts,
    heartbeatTimeoutMs: settings.heartbeatTimeoutMs,
    named: message.host && hostIdIn(settings, message.host),
    mayMove: false,
  });
  const files = etlActivities(settings, pin);
  const { workflowId } = workflowInfo();
  try {
    await job.untilResumed();
    job.set('running');
    progress.enter('extract');
    if (settings.hosts) await pin.first({ ...quickStep(settings), startToCloseTimeout: '1 minute' }, (on) => on.hostOfWorker());
    const sources = await files.listEtlSources({ pipeline, source: message.source, patterns: message.patterns });
    progress.filesTotal = sources.length;
    progress.bytesTotal = sources.reduce((n, f) => n + f.size, 0);
    const rejected: EtlResult['rejected'] = [];
    const started: { file: string; jobId: string; result: Promise<TransformResult> }[] = [];
    // Before this change extracting, checking and handing a file to T were three steps.
    const oneStep = takes('etl-stage-steps-merged');
    const move = message.move ?? false;
    for (const file of sources) {
      await job.untilResumed();
      let check: Validation;
      if (oneStep) check = await files.extractAndCheckEtlFile({ pipeline, file, move });
      else {
        await files.extractEtlFile({ file, dir: STAGE_DIRS.extractWorking, move });
        check = await files.validateEtlFile({ pipeline, dir: STAGE_DIRS.extractWorking, name: file.name });
      }
      if (!check.valid) {
        await files.moveEtlFile({ name: file.name, from: STAGE_DIRS.extractWorking, to: STAGE_DIRS.extractFailed });
        rejected.push({ file: file.name, reason: check.reason });
        progress.rejected++;
        job.note(`rejected ${check.reason}`);
        await files.mailOperators({
          pipeline,
          subject: `ETL ${pipeline}: ${file.name} is invalid, moved to ${STAGE_DIRS.extractFailed}`,
          lines: [
            check.reason,
            '',
            `Source: ${file.path}`,
            `Job:    ${workflowId}`,
            `Fix the file or the pipeline, then move ${STAGE_DIRS.extractFailed}/${file.name} into the watched inbox (or submit it again) to retry.`,
          ],
        });
      } else {
        if (!oneStep) await files.moveEtlFile({ name: file.name, from: STAGE_DIRS.extractWorking, to: STAGE_DIRS.transformWorking, copy: true });
        const jobId = `${workflowId}-T-${file.sha256.slice(0, 12)}`;
        const child = await startChild(etlTransform, {
          workflowId: jobId,
          // The holds this job knows of go to the job it starts, which applies those that concern it.
          args: [
            {
              pipeline,
              name: file.name,
              settings: withHolds(settings, job.holdsKnown()),
              loadAttempts: input.loadAttempts,
              ...(pin.host ? { host: pin.host } : {}),
            },
          ],
          // Cancelling the job cancels the work it started.
          parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
          typedSearchAttributes: [
            { key: CourierKind, value: 'etl-transform' },
            { key: CourierStatus, value: 'queued' },
            ...(message.project ? [{ key: CourierProject, value: message.project }] : []),
            ...(pin.host ? [{ key: CourierHost, value: pin.host }] : []),
          ],
        });
        await files.moveEtlFile({ name: file.name, from: STAGE_DIRS.extractWorking, to: STAGE_DIRS.extractResolved });
        started.push({ file: file.name, jobId, result: child.result() });
        progress.transformsStarted++;
      }
      progress.filesDone++;
      progress.bytesDone += file.size;
    }
    progress.enter('transform');
    const locations: LocationTally[] = [];
    const transforms: TransformOutcome[] = await Promise.all(
      started.map(({ file, jobId, result }) =>
        result.then(
          (done): TransformOutcome => {
            progress.transformsDone++;
            sum(locations, done.locations);
            return { file, jobId, loadsStarted: done.loadsStarted };
          },
          (err): TransformOutcome => {
            if (isCancellation(err)) throw err;
            progress.transformsDone++;
            return { file, jobId, error: rootCause(err).message };
          },
        ),
      ),
    );
    const result: EtlResult = {
      kind: 'etl',
      jobId: workflowId,
      pipeline,
      source: message.source,
      transformsStarted: started.length,
      rejected,
      transforms,
      locations,
      completedAt: new Date().toISOString(),
    };
    const failed = transforms.filter((t) => t.error);
    if (rejected.length > 0 || failed.length > 0) {
      const parts = [
        ...(rejected.length
          ? [`${rejected.length} of ${sources.length} file(s) invalid, in ${STAGE_DIRS.extractFailed}: ${rejected.map((r) => r.reason).join('; ')}`]
          : []),
        ...(failed.length ? [`${failed.length} transform(s) failed: ${failed.map((t) => `${t.file}: ${t.error}`).join('; ')}`] : []),
      ];
      // Failing (rather than completing) lets the drop folder start the same file again once it is moved back.
      throw ApplicationFailure.create({
        message: `${parts.join('; ')}; ${started.length} transform job(s) started`,
        type: 'EtlIncomplete',
        nonRetryable: true,
        details: [result],
      });
    }
    await job.complete({ ...result });
    return result;
  } catch (err) {
    return job.fail(err);
  }
}
