import type { ActivityDeps } from './deps';
import { heartbeatWhile } from './heartbeat';

/**
 * Takes turns by name: at most `count` holders of one name run at once, the
 * rest wait in order. Activities that would each hold a large batch in memory
 * (or a connection) wait here before they read it, so a worker holds only what
 * it is working on, however many such activities Temporal hands it.
 */
export class Turns {
  private readonly gates = new Map<string, { free: number; waiting: (() => void)[] }>();

  async run<T>(name: string, count: number, work: () => Promise<T>): Promise<T> {
    const done = await this.take(name, count);
    try {
      return await work();
    } finally {
      done();
    }
  }

  /** Waits for a turn of `name`; the function returned ends it (once, however often it is called). */
  async take(name: string, count: number): Promise<() => void> {
    let gate = this.gates.get(name);
    if (!gate) this.gates.set(name, (gate = { free: count, waiting: [] }));
    if (gate.free > 0) gate.free--;
    else await new Promise<void>((resolve) => gate.waiting.push(resolve));
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      const next = gate.waiting.shift();
      if (next) next();
      else gate.free++;
    };
  }
}

/**
 * Runs `work`, which has windows of a file in flight on the chunk threads (a
 * backup's segment, a restore's), in one of the turns all such ranges share:
 * see ChunkThreads.rangesAtOnce. The activity heartbeats while it waits.
 */
export async function inChunkRangeTurn<T>(deps: Pick<ActivityDeps, 'turns' | 'chunkThreads'>, work: () => Promise<T>): Promise<T> {
  const end = await heartbeatWhile(0, () => deps.turns.take('chunk ranges', deps.chunkThreads.rangesAtOnce));
  try {
    return await work();
  } finally {
    end();
  }
}
