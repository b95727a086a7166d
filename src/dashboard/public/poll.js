import { useEffect, useRef, useState } from '/ui/vendor/htm-preact.js';
import { vocabulary } from '/ui/api.js';

// Shared by every poller so the header can say when the data went stale.
const listeners = new Set();
export const connection = { lastOk: 0, failing: false, message: '' };
function set(patch) {
  Object.assign(connection, patch);
  for (const fn of listeners) fn();
}
export const onConnection = (fn) => (listeners.add(fn), () => listeners.delete(fn));

// 4xx answers prove the server is reachable; only network errors and 5xx mean the link is down.
const isOutage = (err) => !err || err.status === undefined || err.status >= 500;

/**
 * Calls load() now and every intervalMs after the previous call ended, until unmount or deps change.
 * The last good data stays while a refetch runs or fails, so the page never blanks.
 */
export function usePoll(load, intervalMs, deps) {
  const [state, setState] = useState({ data: undefined, error: undefined, loading: true });
  const run = useRef(() => {});
  useEffect(() => {
    let stopped = false;
    let timer;
    let generation = 0;
    setState((s) => ({ ...s, loading: true, error: undefined }));
    const tick = async () => {
      clearTimeout(timer);
      const mine = ++generation;
      try {
        const data = await load();
        if (stopped || mine !== generation) return;
        set({ lastOk: Date.now(), failing: false, message: '' });
        setState({ data, error: undefined, loading: false });
      } catch (error) {
        if (stopped || mine !== generation) return;
        if (isOutage(error)) set({ failing: true, message: error.message });
        else set({ lastOk: Date.now(), failing: false, message: '' });
        setState((s) => ({ ...s, error, loading: false }));
      }
      if (!stopped && mine === generation) timer = setTimeout(tick, intervalMs);
    };
    run.current = tick;
    tick();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, deps);
  return { ...state, refresh: () => run.current() };
}

/** Re-renders every intervalMs, for clocks such as "updated 3s ago" and running durations. */
export function useNow(intervalMs = 1000) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(t);
  }, [intervalMs]);
  return now;
}

/** The server's job types and statuses (see api.js vocabulary), empty until they arrive. */
export function useVocabulary() {
  const [v, setV] = useState({ jobTypes: [], statuses: [] });
  useEffect(() => {
    vocabulary().then(setV, () => {});
  }, []);
  return v;
}
