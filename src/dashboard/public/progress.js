// Turns a job's kind-specific progress counts into one percentage, and tracks bytes over successive polls for rate and ETA.

/** { done, total, unit } for the main measure of a progress object, or undefined when it has none. */
export function measure(p) {
  if (!p) return undefined;
  const n = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
  if (n(p.bytesTotal) > 0) return { done: n(p.bytesDone) || 0, total: p.bytesTotal, unit: 'bytes' };
  if (n(p.partsTotal) > 0) return { done: n(p.partsDone) || 0, total: p.partsTotal, unit: 'parts' };
  if (n(p.hostsTotal) > 0) return { done: (n(p.hostsDone) || 0) + (n(p.hostsFailed) || 0), total: p.hostsTotal, unit: 'hosts' };
  if (n(p.filesTotal) > 0) return { done: n(p.filesDone) || 0, total: p.filesTotal, unit: 'files' };
  if (n(p.batchesTotal) > 0) return { done: n(p.batchesDone) || 0, total: p.batchesTotal, unit: 'batches' };
  if (typeof p.done === 'boolean') return { done: p.done ? 1 : 0, total: 1, unit: 'done' };
  return undefined;
}

export function percentOf(m) {
  if (!m || !(m.total > 0)) return 0;
  return Math.max(0, Math.min(100, Math.floor((m.done / m.total) * 100)));
}

const samples = new Map();
const WINDOW_MS = 20000;

/** Records bytesDone for a job (at most one sample per 900 ms) and returns { rate (bytes/s), eta (ms) }. */
export function track(key, done, total, now = Date.now()) {
  if (typeof done !== 'number') return {};
  let list = samples.get(key);
  if (!list) samples.set(key, (list = []));
  if (list.length && done < list[list.length - 1].done) list.length = 0; // a retry started over
  const last = list[list.length - 1];
  if (!last || now - last.at >= 900) list.push({ at: now, done });
  else last.done = done;
  while (list.length > 2 && now - list[0].at > WINDOW_MS) list.shift();
  if (samples.size > 500) samples.delete(samples.keys().next().value);
  if (list.length < 2) return {};
  const first = list[0];
  const newest = list[list.length - 1];
  const secs = (newest.at - first.at) / 1000;
  if (secs <= 0) return {};
  const rate = (newest.done - first.done) / secs;
  const eta = rate > 0 && total > done ? ((total - done) / rate) * 1000 : undefined;
  return { rate, eta };
}

export const forget = (key) => samples.delete(key);
