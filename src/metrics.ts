import { Counter, Registry } from 'prom-client';

/**
 * courier's own counters, in the process that does the work: activities count
 * bytes, the job tracker's final report counts outcomes. `GET /metrics` serves
 * them with the SDK's metrics when the HTTP API runs beside a worker.
 */
export const courierMetrics = new Registry();

export const jobsFinished = new Counter({
  name: 'courier_jobs_finished_total',
  help: 'Jobs that ended, by kind and outcome (completed, failed, cancelled).',
  labelNames: ['kind', 'outcome'] as const,
  registers: [courierMetrics],
});

export const bytesUploaded = new Counter({
  name: 'courier_bytes_uploaded_total',
  help: 'Bytes of backup parts uploaded to the store and verified there.',
  registers: [courierMetrics],
});

export const bytesVerified = new Counter({
  name: 'courier_bytes_verified_total',
  help: 'Bytes whose sha256 was checked against the manifest: uploads verified in the store and restored parts.',
  registers: [courierMetrics],
});
