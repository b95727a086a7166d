import cliProgress from 'cli-progress';
import type { Meter } from '../kinds/kind';
import { meterOf, type JobProgress } from '../kinds/registry';
import { formatBytes } from './format';

export interface ProgressView {
  update(progress: JobProgress): void;
  stop(): void;
}

/**
 * A bar on a terminal (in the job type's own counts: bytes with a rate, or
 * hosts, files, batches); on a pipe or log file one line per phase change and
 * every few seconds, so scripts still see movement.
 */
export function progressView(stream: NodeJS.WriteStream = process.stderr): ProgressView {
  let rate = { done: 0, at: Date.now(), value: 0, phase: '' };
  const rateOf = (phase: string, meter: Meter) => {
    const now = Date.now();
    if (phase !== rate.phase) {
      // Every phase moves the bytes again from zero, so the rate starts over too.
      rate = { done: meter.done, at: now, value: 0, phase };
    } else if (now - rate.at >= 1000) {
      rate = { value: ((meter.done - rate.done) * 1000) / (now - rate.at), done: meter.done, at: now, phase };
    }
    return Math.max(0, rate.value);
  };
  const fields = (p: JobProgress, meter: Meter) => ({
    phase: p.phase.padEnd(9),
    detail: meter.unit === 'bytes' ? `${meter.text} | ${formatBytes(rateOf(p.phase, meter))}/s` : meter.text,
  });
  if (!stream.isTTY) {
    let lastLine = 0;
    let lastPhase = '';
    return {
      update(p) {
        const now = Date.now();
        if (p.phase === lastPhase && now - lastLine < 5000) return;
        lastPhase = p.phase;
        lastLine = now;
        const f = fields(p, meterOf(p));
        const held = p.holds?.length ? `, held by ${p.holds.join(', ')}` : '';
        stream.write(`${f.phase.trim()}: ${f.detail}${held}${p.lastError ? `, last error: ${p.lastError}` : ''}\n`);
      },
      stop() {},
    };
  }
  const bar = new cliProgress.SingleBar(
    { stream, format: '{phase} [{bar}] {percentage}% | {detail}', hideCursor: true, barsize: 30 },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  let phase = '';
  return {
    update(p) {
      const meter = meterOf(p);
      const total = Math.max(meter.total, 1);
      if (!started) {
        bar.start(total, meter.done, fields(p, meter));
        started = true;
      }
      if (p.phase !== phase) {
        // Each phase counts again from zero (split, then upload), so the bar restarts.
        phase = p.phase;
        bar.setTotal(total);
      }
      bar.update(meter.done, fields(p, meter));
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
