import type { ChildProcess } from 'node:child_process';
import { spawnWorker } from '../stack';

/**
 * Real worker processes of one installation, as operators run them. The
 * campaign SIGKILLs them; any other exit is a crash and is kept with the end
 * of its output.
 */
export class WorkerPool {
  readonly crashes: string[] = [];
  kills = 0;
  private readonly workers = new Set<ChildProcess>();
  private readonly killed = new WeakSet<ChildProcess>();
  private stopping = false;

  constructor(
    private readonly env: Record<string, string>,
    private readonly size: number,
  ) {}

  start(): void {
    while (this.workers.size < this.size) this.spawn();
  }

  private spawn(): void {
    const child = spawnWorker(this.env);
    let tail = '';
    const keep = (data: Buffer) => (tail = (tail + data.toString()).slice(-2000));
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.workers.add(child);
    child.once('exit', (code, signal) => {
      this.workers.delete(child);
      if (this.stopping || this.killed.has(child)) return;
      this.crashes.push(`worker ${child.pid} exited (${signal ?? `code ${code}`}): ${tail.trim().split('\n').slice(-5).join(' | ')}`);
      this.spawn();
    });
  }

  get pids(): number[] {
    return [...this.workers].map((child) => child.pid!);
  }

  /** SIGKILLs the worker of `pid` (one at random when it is not one of them) and starts a replacement after `restartAfterMs`. */
  async kill(pid?: number, restartAfterMs = 1000): Promise<number | undefined> {
    const all = [...this.workers];
    const victim = all.find((child) => child.pid === pid) ?? all[Math.floor(Math.random() * all.length)];
    if (!victim) return undefined;
    this.killed.add(victim);
    const gone = new Promise((resolve) => victim.once('exit', resolve));
    victim.kill('SIGKILL');
    await gone;
    this.kills++;
    setTimeout(() => {
      if (!this.stopping) this.start();
    }, restartAfterMs);
    return victim.pid;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const all = [...this.workers];
    await Promise.all(
      all.map(async (child) => {
        const gone = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await gone;
      }),
    );
  }
}
