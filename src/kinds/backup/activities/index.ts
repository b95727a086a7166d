import { bindAll } from '../../../activities/bind';
import type { ActivityDeps } from '../../../activities/deps';
import { backupSegment, clearPending, hashSource, markPending, writeSnapshot } from './chunked-backup';
import { discardStaging, removeStaging, uploadManifest } from './finish-backup';
import { abortObjectUpload, completeObjectUpload, startObjectUpload, uploadObjectPart } from './object-upload';
import { prepareBackup } from './prepare-backup';
import { backupIfSmall } from './small-backup';
import { splitSource } from './split-source';
import { uploadPart } from './upload-part';

/** A backup's activities, bound to the worker's dependencies. */
export const backupActivities = (deps: ActivityDeps) =>
  bindAll(deps, {
    prepareBackup,
    splitSource,
    uploadPart,
    uploadManifest,
    removeStaging,
    discardStaging,
    startObjectUpload,
    uploadObjectPart,
    completeObjectUpload,
    abortObjectUpload,
    markPending,
    clearPending,
    backupSegment,
    hashSource,
    writeSnapshot,
    backupIfSmall,
  });
