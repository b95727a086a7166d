import { proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { JobSettings } from '../../jobs/settings';
import { byteMover, quickStep } from '../../workflows/activity-options';
import type { HostPin } from '../../workflows/host-pin';

type Arg<K extends keyof Activities> = Parameters<Activities[K]>[0];

/**
 * The ETL's activities. The E/T/L tree lives on one host's disk, so every step
 * that touches it runs on the job's pinned host; mail goes from anywhere. File
 * steps heartbeat, so a worker that dies in one is noticed within the heartbeat timeout.
 */
export function etlActivities(settings: JobSettings, pin: HostPin) {
  const reading = byteMover(settings);
  const short: ActivityOptions = { ...quickStep(settings), startToCloseTimeout: '1 minute' };
  const quick = proxyActivities<Activities>(short);
  return {
    listEtlSources: (arg: Arg<'listEtlSources'>) => pin.step(reading, (on) => on.listEtlSources(arg)),
    extractEtlFile: (arg: Arg<'extractEtlFile'>) => pin.step(reading, (on) => on.extractEtlFile(arg)),
    validateEtlFile: (arg: Arg<'validateEtlFile'>) => pin.step(reading, (on) => on.validateEtlFile(arg)),
    extractAndCheckEtlFile: (arg: Arg<'extractAndCheckEtlFile'>) => pin.step(reading, (on) => on.extractAndCheckEtlFile(arg)),
    writeBatches: (arg: Arg<'writeBatches'>) => pin.step(reading, (on) => on.writeBatches(arg)),
    takeAndSplitEtlFile: (arg: Arg<'takeAndSplitEtlFile'>) => pin.step(reading, (on) => on.takeAndSplitEtlFile(arg)),
    checkBatch: (arg: Arg<'checkBatch'>) => pin.step(reading, (on) => on.checkBatch(arg)),
    takeBatch: (arg: Arg<'takeBatch'>) => pin.step(reading, (on) => on.takeBatch(arg)),
    moveEtlFile: (arg: Arg<'moveEtlFile'>) => pin.step(reading, (on) => on.moveEtlFile(arg)),
    archiveResolved: (arg: Arg<'archiveResolved'>) => pin.step(reading, (on) => on.archiveResolved(arg)),
    findStaleFiles: (arg: Arg<'findStaleFiles'>) => pin.step(short, (on) => on.findStaleFiles(arg)),
    mailOperators: quick.mailOperators,
  };
}
