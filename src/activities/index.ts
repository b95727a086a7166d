import type { ActivityDeps } from './deps';
import { admitMessage } from './admit';
import { asFailure } from './failures';
import { discardStaging, uploadManifest, removeStaging } from '../kinds/backup/activities/finish-backup';
import { recordStatus } from './ledger';
import { abortObjectUpload, completeObjectUpload, startObjectUpload, uploadObjectPart } from '../kinds/backup/activities/object-upload';
import { mailOperators, sendEmail, sendWebhook } from './notify';
import { runHandler } from '../kinds/dispatch/activities/run-handler';
import { runSpawnHook } from '../kinds/dispatch/activities/spawn-hook';
import { prepareBackup } from '../kinds/backup/activities/prepare-backup';
import { deliverFile, stagePushFile } from '../kinds/push/activities';
import { reportStatus } from './report-status';
import { discardRestore, finishRestore, loadManifest, prepareRestore, restorePart } from '../kinds/restore/activities';
import { splitSource } from '../kinds/backup/activities/split-source';
import { uploadPart } from '../kinds/backup/activities/upload-part';
import { extractEtlFile, listEtlSources, moveEtlFile, validateEtlFile } from '../kinds/etl/activities/files';
import { checkBatch, loadBatch, writeBatches } from '../kinds/etl/activities/batches';
import { archiveResolved, findStaleFiles } from '../kinds/etl/activities/cleanup';
import { hostOfWorker, hostPolledWithin } from './hosts';

export { createDeps, type ActivityDeps, type OwnedDeps } from './deps';

type Bound<F> = F extends (deps: ActivityDeps, ...args: infer A) => infer R ? (...args: A) => R : never;

/** Binds an activity to its dependencies; this is the boundary where store errors become Temporal failures. */
function bind<F extends (deps: ActivityDeps, ...args: never[]) => Promise<unknown>>(deps: ActivityDeps, fn: F): Bound<F> {
  return (async (...args: never[]) => {
    try {
      return await fn(deps, ...args);
    } catch (err) {
      throw asFailure(err);
    }
  }) as Bound<F>;
}

/** Every activity, bound to the worker's configuration and store. */
export function createActivities(deps: ActivityDeps) {
  return {
    admitMessage: bind(deps, admitMessage),
    prepareBackup: bind(deps, prepareBackup),
    splitSource: bind(deps, splitSource),
    uploadPart: bind(deps, uploadPart),
    uploadManifest: bind(deps, uploadManifest),
    removeStaging: bind(deps, removeStaging),
    loadManifest: bind(deps, loadManifest),
    prepareRestore: bind(deps, prepareRestore),
    restorePart: bind(deps, restorePart),
    finishRestore: bind(deps, finishRestore),
    discardRestore: bind(deps, discardRestore),
    reportStatus: bind(deps, reportStatus),
    discardStaging: bind(deps, discardStaging),
    sendWebhook: bind(deps, sendWebhook),
    sendEmail: bind(deps, sendEmail),
    recordStatus: bind(deps, recordStatus),
    runSpawnHook: bind(deps, runSpawnHook),
    startObjectUpload: bind(deps, startObjectUpload),
    uploadObjectPart: bind(deps, uploadObjectPart),
    completeObjectUpload: bind(deps, completeObjectUpload),
    abortObjectUpload: bind(deps, abortObjectUpload),
    stagePushFile: bind(deps, stagePushFile),
    listEtlSources: bind(deps, listEtlSources),
    extractEtlFile: bind(deps, extractEtlFile),
    moveEtlFile: bind(deps, moveEtlFile),
    validateEtlFile: bind(deps, validateEtlFile),
    writeBatches: bind(deps, writeBatches),
    checkBatch: bind(deps, checkBatch),
    loadBatch: bind(deps, loadBatch),
    mailOperators: bind(deps, mailOperators),
    archiveResolved: bind(deps, archiveResolved),
    findStaleFiles: bind(deps, findStaleFiles),
    hostPolledWithin: bind(deps, hostPolledWithin),
    hostOfWorker: bind(deps, hostOfWorker),
  };
}

/** The activity that topic workers run: the dispatch work itself. */
export function createHandlerActivities(deps: ActivityDeps) {
  return { runHandler: bind(deps, runHandler) };
}

/** The activity a host's worker runs: delivering a pushed file on that host. */
export function createHostActivities(deps: ActivityDeps) {
  return { deliverFile: bind(deps, deliverFile) };
}

export type Activities = ReturnType<typeof createActivities>;
export type HostActivities = ReturnType<typeof createHostActivities>;
export type HandlerActivities = ReturnType<typeof createHandlerActivities>;
