import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { JobSettings } from '../jobs';
import { byteMover, quickStep } from './activity-options';

/**
 * The ETL's activities. File steps heartbeat, so a worker that dies in one is
 * noticed within the heartbeat timeout; mail and listings are short.
 */
export function etlActivities(settings: JobSettings) {
  const reading = proxyActivities<Activities>(byteMover(settings));
  const quick = proxyActivities<Activities>({ ...quickStep, startToCloseTimeout: '1 minute' });
  return {
    listEtlSources: reading.listEtlSources,
    extractEtlFile: reading.extractEtlFile,
    validateEtlFile: reading.validateEtlFile,
    writeBatches: reading.writeBatches,
    checkBatch: reading.checkBatch,
    moveEtlFile: reading.moveEtlFile,
    mailOperators: quick.mailOperators,
    archiveResolved: reading.archiveResolved,
    findStaleFiles: quick.findStaleFiles,
  };
}
