// A symbol per status so the state reads without colour.
const SYMBOLS = {
  queued: '○',
  running: '▶',
  'waiting-for-worker': '◔',
  'waiting-for-host': '◔',
  paused: '‖',
  completed: '✓',
  failed: '✗',
  cancelled: '⊘',
  terminated: '■',
  'timed-out': '◷',
};
export const statusSymbol = (s) => SYMBOLS[s] || '•';

export function bytes(n) {
  if (n === undefined || n === null || !Number.isFinite(n)) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0;
  let v = n;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v >= 100 ? 0 : 1)} ${units[i]}`;
}

export const mibPerSec = (bps) => (bps === undefined || !Number.isFinite(bps) ? '–' : `${(bps / 1048576).toFixed(1)} MiB/s`);

export function duration(ms) {
  if (ms === undefined || ms === null || !Number.isFinite(ms) || ms < 0) return '–';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

const pad = (n) => String(n).padStart(2, '0');
export function time(iso) {
  if (!iso) return '–';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}
export const hourLabel = (iso) => {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : `${pad(d.getHours())}:00`;
};

export function ago(iso, now = Date.now()) {
  if (!iso) return 'never';
  const ms = now - new Date(iso).getTime();
  if (!Number.isFinite(ms)) return '–';
  return ms < 1000 ? 'just now' : `${duration(ms)} ago`;
}

export const percent = (n) => `${Math.floor(n)}%`;

export const jobHref = (id) => `#/jobs/${encodeURIComponent(id)}`;

export function jobsHref(filters) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(filters)) if (v) q.set(k, v);
  const s = q.toString();
  return s ? `#/jobs?${s}` : '#/jobs';
}
