import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_SPLIT_SIGNALS, signalPacer } from '../src/kinds/backup/activities/signal-pacer';

const GiB = 1024 ** 3;

/** Signals a split sends reporting every `everyMs` while it reads `total` bytes in `durationMs`. */
function signalsOf(total: number, durationMs: number, everyMs = 100): { count: number; gaps: number[] } {
  const due = signalPacer(total);
  const times: number[] = [];
  for (let now = everyMs; now <= durationMs; now += everyMs) if (due(Math.floor((total * now) / durationMs), now)) times.push(now);
  if (due(total, durationMs, true)) times.push(durationMs);
  return { count: times.length, gaps: times.slice(1).map((t, i) => t - times[i]!) };
}

describe('split progress signals', () => {
  it('a 45-minute split sends at most one signal per 1 % of the file, not one a second (2,700)', () => {
    const { count } = signalsOf(200 * GiB, 45 * 60_000);
    assert.ok(count <= MAX_SPLIT_SIGNALS + 1, `${count} signals`);
    assert.ok(count >= MAX_SPLIT_SIGNALS - 1, `progress still moves every 1 %: ${count} signals`);
  });

  it('a fast split signals at most once a second, and its end always', () => {
    const { count, gaps } = signalsOf(GiB, 3_000);
    assert.ok(count >= 3 && count <= 4, `${count} signals`);
    assert.ok(
      gaps.slice(0, -1).every((gap) => gap >= 1000),
      `gaps ${gaps.join(', ')}`,
    );
  });

  it('an empty file signals only its end', () => {
    const due = signalPacer(0);
    assert.equal(due(0, 5000), false);
    assert.equal(due(0, 6000, true), true);
  });
});
