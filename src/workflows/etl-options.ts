import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { JobSettings } from '../jobs';
import { byteMover, quickStep } from './activity-options';

/** The ETL's activities: reading files heartbeats; moves and mail are quick steps. */
export function etlActivities(settings: JobSettings) {
  const reading = proxyActivities<Activities>(byteMover(settings));
  const quick = proxyActivities<Activities>({ ...quickStep, startToCloseTimeout: '1 hour' });
  return {
    listEtlSources: reading.listEtlSources,
    extractEtlFile: reading.extractEtlFile,
    validateEtlFile: reading.validateEtlFile,
    writeBatches: reading.writeBatches,
    checkBatch: reading.checkBatch,
    moveEtlFile: quick.moveEtlFile,
    mailOperators: quick.mailOperators,
    archiveResolved: reading.archiveResolved,
    findStaleFiles: quick.findStaleFiles,
  };
}
