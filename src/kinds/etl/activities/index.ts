import { bindAll } from '../../../activities/bind';
import type { ActivityDeps } from '../../../activities/deps';
import { checkBatch, loadBatch, takeAndLoadBatch, takeBatch, writeBatches } from './batches';
import { archiveResolved, findStaleFiles } from './cleanup';
import { extractEtlFile, listEtlSources, moveEtlFile, validateEtlFile } from './files';

/** The activities of the ETL workflows (extract, transform, load, cleanup), bound to the worker's dependencies. */
export const etlActivities = (deps: ActivityDeps) =>
  bindAll(deps, {
    listEtlSources,
    extractEtlFile,
    moveEtlFile,
    validateEtlFile,
    writeBatches,
    checkBatch,
    takeBatch,
    takeAndLoadBatch,
    loadBatch,
    archiveResolved,
    findStaleFiles,
  });
