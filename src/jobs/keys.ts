/** The task queue a host's worker polls for the steps pinned to it. */
export const hostQueue = (host: string): string => `host-${host}`;
/** Where a push keeps its file in the store: by content, so the same bytes are stored once. */
export const pushObjectKey = (name: string, sha256: string): string => `pushes/${name}/${sha256}`;

/** A dispatch topic's task queue: the control queue's name plus the topic. */
export const topicQueue = (controlQueue: string, topic: string): string => `${controlQueue}.dispatch.${topic}`;
/** A topic's queue on one host: for work whose payload names files only that host has. */
export const hostTopicQueue = (controlQueue: string, topic: string, host: string): string => `${topicQueue(controlQueue, topic)}@${host}`;

export const partKey = (backup: string, index: number): string => `backups/${backup}/parts/${String(index).padStart(6, '0')}`;
export const manifestKey = (backup: string): string => `backups/${backup}/manifest.json`;
/** The one object of a backup in the object layout. */
export const objectKey = (backup: string): string => `backups/${backup}/object`;
export const jobRecordKey = (jobId: string): string => `jobs/${jobId.replace(/[^A-Za-z0-9._-]/g, '_')}.json`;
export const partCountFor = (size: number, partSize: number): number => Math.ceil(size / partSize);
