import fs from 'node:fs/promises';
import path from 'node:path';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { submit } from '../../client';
import type { Config } from '../../config';
import { hashFile } from '../../hashing/hash-file';
import type { Logger } from '../../logger';
import { watchInbox, type Inbox } from '../../watch/inbox';

/** The job of a dropped file: named by pipeline and content, so the same bytes are one job. */
export const dropJobId = (pipeline: string, sha256: string): string => `etl-${pipeline}-drop-${sha256.slice(0, 24)}`;

/**
 * Starts an ETL job for every complete file dropped into `inbox`; the job moves
 * the file into E/working. A file whose content already loaded completely is a
 * duplicate and is removed; one whose job failed (moved back from a failed
 * directory) starts the job again.
 */
export async function watchEtlInbox(inbox: string, pipeline: string, deps: { config: Config; client: Client; logger: Logger }): Promise<Inbox> {
  const log = deps.logger.child({ component: 'watch', pipeline });
  return watchInbox(
    inbox,
    async (file) => {
      const { digests } = await hashFile({ file, algorithms: ['sha256'] });
      const jobId = dropJobId(pipeline, digests.sha256!);
      const earlier = await deps.client.workflow
        .getHandle(jobId)
        .describe()
        .catch((err) => {
          if (err instanceof WorkflowNotFoundError) return undefined;
          throw err;
        });
      if (earlier?.status.name === 'COMPLETED') {
        await fs.rm(file, { force: true });
        log.info(
          { workflowId: jobId, file: path.basename(file) },
          'the same content was loaded completely by this job already; duplicate removed from the inbox',
        );
        return;
      }
      if (earlier?.status.name === 'RUNNING') {
        log.info({ workflowId: jobId, file: path.basename(file) }, 'a job for the same content is running; the file waits for it');
        return;
      }
      await submit(deps.client, deps.config, { kind: 'etl', id: jobId, pipeline, source: file, move: true, host: deps.config.host });
      log.info(
        { workflowId: jobId, file: path.basename(file), retry: earlier !== undefined },
        earlier ? 'dropped file started its job again' : 'dropped file started a job',
      );
    },
    { stableMs: deps.config.watchStableMs, logger: deps.logger },
  );
}
