import cliProgress from 'cli-progress';
import type { Progress } from '../jobs';
import { formatBytes } from './format';

export interface ProgressView {
  update(progress: Progress): void;
  stop(): void;
}

/**
 * A bar on a terminal (bytes, parts, rate, phase); on a pipe or log file one
 * line per phase change and every few seconds, so scripts still see movement.
 */
export function progressView(stream: NodeJS.WriteStream = process.stderr): ProgressView {
  let rate = { bytes: 0, at: Date.now(), value: 0, phase: '' };
  const rateOf = (p: Progress) => {
    const now = Date.now();
    if (p.phase !== rate.phase) {
      // Every phase moves the bytes again from zero, so the rate starts over too.
      rate = { bytes: p.bytesDone, at: now, value: 0, phase: p.phase };
    } else if (now - rate.at >= 1000) {
      rate = { value: ((p.bytesDone - rate.bytes) * 1000) / (now - rate.at), bytes: p.bytesDone, at: now, phase: p.phase };
    }
    return Math.max(0, rate.value);
  };
  const fields = (p: Progress) => ({
    phase: p.phase.padEnd(8),
    bytes: `${formatBytes(p.bytesDone)}/${formatBytes(p.bytesTotal)}`,
    parts: `${p.partsDone}/${p.partsTotal}`,
    rate: `${formatBytes(rateOf(p))}/s`,
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
        const f = fields(p);
        stream.write(`${f.phase.trim()}: ${f.bytes}, parts ${f.parts}, ${f.rate}${p.lastError ? `, last error: ${p.lastError}` : ''}\n`);
      },
      stop() {},
    };
  }
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: '{phase} [{bar}] {percentage}% | {bytes} | parts {parts} | {rate}',
      hideCursor: true,
      barsize: 30,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  let phase = '';
  return {
    update(p) {
      const total = Math.max(p.bytesTotal, 1);
      if (!started) {
        bar.start(total, p.bytesDone, fields(p));
        started = true;
      }
      if (p.phase !== phase) {
        // Each phase moves the bytes again (split, then upload), so the bar restarts.
        phase = p.phase;
        bar.setTotal(total);
      }
      bar.update(p.bytesDone, fields(p));
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
