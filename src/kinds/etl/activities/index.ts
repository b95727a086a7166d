import { bindAll } from '../../../activities/bind';
import type { ActivityDeps } from '../../../activities/deps';
import { checkBatch, loadBatch, takeAndLoadBatch, takeAndSplitEtlFile, takeBatch, writeBatches } from './batches';
import { archiveResolved, findStaleFiles } from './cleanup';
import { extractAndCheckEtlFile, extractEtlFile, listEtlSources, moveEtlFile, validateEtlFile } from './files';

/** The activities of the ETL workflows (extract, transform, load, cleanup), bound to the worker's dependencies. */
export const etlActivities = (deps: ActivityDeps) =>
  bindAll(deps, {
    listEtlSources,
    extractEtlFile,
    extractAndCheckEtlFile,
    moveEtlFile,
    validateEtlFile,
    writeBatches,
    takeAndSplitEtlFile,
    checkBatch,
    takeBatch,
    takeAndLoadBatch,
    loadBatch,
    archiveResolved,
    findStaleFiles,
  });
