/**
 * `npm run faults`: the fault campaign at full size against a real dev server,
 * S3 server, PostgreSQL, MariaDB and real worker processes. Prints a table per
 * scenario and every target missed; exits 1 when any is. FAULTS_SEED repeats a
 * run's random choices, FAULTS_ONLY=kills,etl,restarts,store picks scenarios,
 * FAULTS_OUTAGE_S shortens the store outage (default 600).
 */
import { FULL, runCampaign } from '../test/helpers/campaign/run';

async function main(): Promise<void> {
  const started = Date.now();
  const scale = {
    ...FULL,
    ...(process.env.FAULTS_SEED ? { seed: Number(process.env.FAULTS_SEED) } : {}),
    ...(process.env.FAULTS_OUTAGE_S ? { storeOutageS: Number(process.env.FAULTS_OUTAGE_S) } : {}),
  };
  const only = process.env.FAULTS_ONLY?.split(',').map((s) => s.trim());
  const outcome = await runCampaign(scale, (line) => console.error(line), only);
  console.log(outcome.table);
  console.log(`\nseed ${scale.seed}, ${((Date.now() - started) / 60_000).toFixed(1)} minutes`);
  if (outcome.missed.length) {
    console.log(`\ntargets missed:\n${outcome.missed.map((m) => `- ${m}`).join('\n')}`);
    process.exit(1);
  }
  console.log('every target met');
}

main().catch((err: Error) => {
  console.error(`the fault campaign failed: ${err.stack ?? err.message}`);
  process.exit(1);
});
