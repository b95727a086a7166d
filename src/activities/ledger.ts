import { log } from '@temporalio/activity';
import type { Pool } from 'pg';
import type { StatusEntry } from '../jobs/status';
import type { ActivityDeps } from './deps';
import { permanent } from './failures';

export interface LedgerRow extends StatusEntry {
  jobId: string;
  runId: string;
  /** Position in the run's status log; with the job and run ids it makes a retried insert a no-op. */
  seq: number;
  kind: string;
  project?: string;
}

const CREATE = `
CREATE TABLE IF NOT EXISTS courier_status_log (
  job_id  text        NOT NULL,
  seq     integer     NOT NULL,
  run_id  text        NOT NULL,
  kind    text        NOT NULL,
  project text,
  status  text        NOT NULL,
  note    text,
  at      timestamptz NOT NULL,
  PRIMARY KEY (job_id, run_id, seq)
)`;

/**
 * Tables made before a retried job kept its rows were keyed by job and
 * position alone, so a retry's log (which starts again at 0) was dropped as
 * duplicates; they take the run into their key once.
 */
const KEY_RUNS = `
DO $$ BEGIN
  IF NOT EXISTS (
    SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
    WHERE i.indrelid = 'courier_status_log'::regclass AND i.indisprimary AND a.attname = 'run_id'
  ) THEN
    ALTER TABLE courier_status_log DROP CONSTRAINT courier_status_log_pkey, ADD PRIMARY KEY (job_id, run_id, seq);
  END IF;
END $$`;

/** The PostgreSQL status ledger: one pool per worker, its table created on first use. */
export interface Ledger {
  append(row: LedgerRow): Promise<void>;
  close(): Promise<void>;
}

export function openLedger(url: string): Ledger {
  // pg loads with the first row: a worker that never writes one does not carry it.
  let opened: Promise<Pool> | undefined;
  const open = () =>
    (opened ??= import('pg').then(({ Pool }) => {
      const pool = new Pool({ connectionString: url, max: 4 });
      pool.on('error', (err) => log.warn('ledger connection error', { error: err.message }));
      return pool;
    }));
  let ready: Promise<unknown> | undefined;
  const created = (pool: Pool) => {
    // A failed creation is tried again by the next row rather than remembered.
    ready ??= pool
      .query(CREATE)
      .then(() => pool.query(KEY_RUNS))
      .catch((err: unknown) => {
        ready = undefined;
        throw err;
      });
    return ready;
  };
  return {
    async append(row) {
      const pool = await open();
      await created(pool);
      await pool.query(
        `INSERT INTO courier_status_log (job_id, seq, run_id, kind, project, status, note, at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (job_id, run_id, seq) DO NOTHING`,
        [row.jobId, row.seq, row.runId, row.kind, row.project ?? null, row.status, row.note ?? null, row.at],
      );
    },
    close: async () => {
      if (opened) await (await opened).end();
    },
  };
}

/** Appends one status transition to the PostgreSQL ledger, so reporting outlives Temporal's retention. */
export async function recordStatus(deps: ActivityDeps, row: LedgerRow): Promise<void> {
  if (!deps.ledger) {
    throw permanent('NotConfigured', `job ${row.jobId} asks for the status ledger, but COURIER_LEDGER_URL is not set on this worker`);
  }
  await deps.ledger.append(row);
}
