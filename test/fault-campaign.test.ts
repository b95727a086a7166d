import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCampaign, type Scale } from './helpers/campaign/run';

/** `npm run faults` in small: every kind of fault once, against its own dev server, S3 server and databases. */
const SHORT: Scale = {
  backups: 3,
  // Big enough that most kill points are still ahead when the campaign looks for them.
  sizesMiB: [24, 48],
  etlRuns: 1,
  etlRecords: 200,
  serverRestarts: 1,
  restartSizeMiB: 24,
  flakyS: 4,
  storeOutageS: 6,
  dbOutageS: 8,
  seed: Number(process.env.FAULTS_SEED ?? Date.now() % 100_000),
};

describe('the fault campaign, short', () => {
  it('kills in every phase, a dev-server restart, a flaky and an absent store, every job completes, nothing lost or doubled', async () => {
    const outcome = await runCampaign(SHORT, () => undefined);
    console.log(outcome.table);
    assert.deepEqual(outcome.missed, [], `targets missed (seed ${SHORT.seed}):\n${outcome.table}`);
    // A kill point a job has already passed is skipped, so how many land is chance; none at all would prove nothing.
    const kills = outcome.reports.reduce((sum, r) => sum + r.kills, 0);
    assert.ok(kills >= 1, `workers were killed: ${kills}`);
  });
});
