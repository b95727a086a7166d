/** At most this many progress signals reach a job during one split, however long it runs. */
export const MAX_SPLIT_SIGNALS = 100;

/**
 * When a split tells its job how far it got. Each signal is history in a
 * workflow that cannot continue-as-new while the split runs, so signals are
 * paced by bytes (one per 1 % of the file, at most one a second), not by time:
 * a 45-minute split sends as many as a 45-second one.
 */
export function signalPacer(totalBytes: number, minIntervalMs = 1000): (bytesDone: number, now: number, force?: boolean) => boolean {
  const step = Math.max(1, totalBytes / MAX_SPLIT_SIGNALS);
  let nextAt = step;
  let last = -Infinity;
  return (bytesDone, now, force = false) => {
    if (!force && (bytesDone < nextAt || now - last < minIntervalMs)) return false;
    last = now;
    nextAt = (Math.floor(bytesDone / step) + 1) * step;
    return true;
  };
}
