/** Sortable by time, unique per job: `20261124T031500Z-1a2b3c4d`. Free of Node, so workflows compute it. */
export function snapshotIdFor(startedAt: string, uniq: string): string {
  return `${startedAt.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${uniq.replace(/-/g, '').slice(0, 8)}`;
}

export const snapshotIdPattern = /^\d{8}T\d{6}Z-[0-9a-f]{8}$/;
