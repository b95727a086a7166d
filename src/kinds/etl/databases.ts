import type pg from 'pg';
import type mysql from 'mysql2/promise';
import type { Logger } from '../../logger';
import type { Location } from './pipelines';

/** Connections each storage location may hold open per worker: enough for the loads a worker runs at once. */
export const CONNECTIONS_PER_LOCATION = 4;
/** How many loads into a location may run at once: one per pooled connection, and one at a time into a SQLite file. */
export const connectionsFor = (location: Location): number => (location.kind === 'sqlite' ? 1 : CONNECTIONS_PER_LOCATION);

/** An idle connection is closed after this long, so a worker between jobs holds none. */
const IDLE_MS = 30_000;

/**
 * The worker's connection pools, one per database URL, opened on first use
 * and shared by every load: a batch borrows a connection instead of paying
 * for a login. SQLite files are not pooled (see loadSqlite).
 */
export class Databases {
  private readonly postgresPools = new Map<string, Promise<pg.Pool>>();
  private readonly mariadbPools = new Map<string, Promise<mysql.Pool>>();
  /** MariaDB servers (by URL) that refused LOAD DATA LOCAL INFILE: their loads go straight to inserts. */
  private readonly refusingLocalInfile = new Set<string>();

  constructor(private readonly options: { logger?: Pick<Logger, 'warn'>; applicationName?: string } = {}) {}

  postgres(url: string): Promise<pg.Pool> {
    let pool = this.postgresPools.get(url);
    if (!pool) {
      // Each driver loads on first use: a worker that loads nothing, or only into one kind of database, does not carry the others.
      pool = import('pg').then(({ Pool }) => {
        const opened = new Pool({
          connectionString: url,
          max: CONNECTIONS_PER_LOCATION,
          idleTimeoutMillis: IDLE_MS,
          connectionTimeoutMillis: 10_000,
          application_name: this.options.applicationName ?? 'courier',
          // Idle connections do not keep a process alive that is done with its work but never closed its deps.
          allowExitOnIdle: true,
        });
        // A pooled connection the server drops while idle must not take the worker down; the pool replaces it.
        opened.on('error', (err) => this.options.logger?.warn({ err: err.message }, 'an idle PostgreSQL connection failed; the pool drops it'));
        return opened;
      });
      this.postgresPools.set(url, pool);
    }
    return pool;
  }

  mariadb(url: string): Promise<mysql.Pool> {
    let pool = this.mariadbPools.get(url);
    if (!pool) {
      pool = import('mysql2/promise').then(({ createPool }) =>
        createPool({
          uri: url.replace(/^mariadb:/, 'mysql:'),
          connectionLimit: CONNECTIONS_PER_LOCATION,
          // mysql2 closes idle connections after idleTimeout only while maxIdle is below the limit.
          maxIdle: CONNECTIONS_PER_LOCATION - 1,
          idleTimeout: IDLE_MS,
          connectTimeout: 10_000,
          // Without FOUND_ROWS, affectedRows counts a skipped duplicate as 0 rather than as a matched row.
          flags: ['-FOUND_ROWS'],
        }),
      );
      this.mariadbPools.set(url, pool);
    }
    return pool;
  }

  /** Whether the server at `url` refused LOAD DATA LOCAL INFILE earlier in this worker's life. */
  refusesLocalInfile(url: string): boolean {
    return this.refusingLocalInfile.has(url);
  }

  /** Remembers a refusal, and says so once per server: loads still go in, only slower. */
  noteLocalInfileRefused(url: string, err: Error): void {
    if (this.refusingLocalInfile.has(url)) return;
    this.refusingLocalInfile.add(url);
    this.options.logger?.warn(
      { err: err.message, database: redactedUrl(url) },
      'MariaDB refuses LOAD DATA LOCAL INFILE (local_infile is off); this worker loads into it with multi-row inserts, which are slower. Turn local_infile on and restart the worker for the bulk path',
    );
  }

  async close(): Promise<void> {
    const pools = [...this.postgresPools.values(), ...this.mariadbPools.values()];
    this.postgresPools.clear();
    this.mariadbPools.clear();
    await Promise.all(pools.map(async (pool) => (await pool).end().catch(() => undefined)));
  }
}

/** A database URL without its password, for mail and logs. */
export function redactedUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}
