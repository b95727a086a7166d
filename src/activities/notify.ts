import { createHmac } from 'node:crypto';
import { log } from '@temporalio/activity';
import type { StatusDocument } from '../jobs/status';
import type { ActivityDeps } from './deps';
import { permanent } from './failures';

export const SIGNATURE_HEADER = 'x-courier-signature';

/** `sha256=<hex HMAC-SHA256 of the exact body>`, the form receivers check. */
export function signBody(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** POSTs the status document, signed; a non-2xx answer or a timeout throws, and Temporal retries with backoff. */
export async function sendWebhook(deps: ActivityDeps, input: { url: string; document: StatusDocument; timeoutMs: number }): Promise<number> {
  const secret = deps.config.webhook.secret;
  if (!secret) throw permanent('NotConfigured', `cannot sign the callback to ${input.url}: COURIER_WEBHOOK_SECRET is not set on this worker`);
  const body = JSON.stringify(input.document);
  let response: Response;
  try {
    response = await fetch(input.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: signBody(secret, body), 'x-courier-event': input.document.event },
      body,
      signal: AbortSignal.timeout(input.timeoutMs),
    });
  } catch (err) {
    throw new Error(
      `callback ${input.url} unreachable: ${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message}`,
    );
  }
  await response.body?.cancel();
  if (!response.ok) throw new Error(`callback ${input.url} answered ${response.status} ${response.statusText}`);
  log.info('callback delivered', { url: input.url, event: input.document.event, status: response.status });
  return response.status;
}

/** Mails the people to tell: subject and body name the job, its kind, the cause and the command to look at it. */
export async function sendEmail(deps: ActivityDeps, input: { to: string[]; document: StatusDocument }): Promise<void> {
  const { from } = deps.config.smtp;
  if (!deps.mailer) throw permanent('NotConfigured', `cannot mail ${input.to.join(', ')}: COURIER_SMTP_URL is not set on this worker`);
  const doc = input.document;
  const headline = {
    completed: 'completed',
    failed: 'FAILED',
    cancelled: 'was cancelled',
    escalated: 'is waiting for a worker',
  }[doc.event];
  const lines = [
    `courier ${doc.kind} job ${doc.jobId} ${headline}.`,
    '',
    `Job:     ${doc.jobId} (run ${doc.runId})`,
    `Kind:    ${doc.kind}`,
    `Subject: ${doc.subject}`,
    `Status:  ${doc.status}`,
    ...(doc.cause ? [`Cause:   ${doc.cause}`] : []),
    '',
    `Look at it:  courier status ${doc.jobId}`,
    '',
    'Status log:',
    ...doc.statusLog.map((entry) => `  ${entry.at}  ${entry.status}${entry.note ? `  ${entry.note}` : ''}`),
  ];
  await deps.mailer.sendMail({
    from,
    to: input.to,
    subject: `[courier] ${doc.kind} ${doc.subject} ${headline} (${doc.jobId})`,
    text: lines.join('\n'),
  });
  log.info('mail sent', { to: input.to, event: doc.event });
}

/**
 * Mails the people an ETL pipeline names (else the pipeline file's `notify`,
 * else COURIER_NOTIFY_EMAIL) about one file or location. With nobody to tell
 * or no mail server, the mail is logged instead of failing the job.
 */
export async function mailOperators(deps: ActivityDeps, input: { pipeline?: string; subject: string; lines: string[] }): Promise<{ sent: string[] }> {
  let to = deps.config.notify.email;
  try {
    const etl = deps.pipelines.read();
    to = (input.pipeline ? etl.pipelines[input.pipeline]?.notify : undefined) ?? etl.notify ?? to;
  } catch {
    // Without a readable pipeline file the configured defaults still hear about it.
  }
  const { from } = deps.config.smtp;
  if (to.length === 0 || !deps.mailer) {
    log.warn('nobody to mail; set notify in the pipeline file or COURIER_NOTIFY_EMAIL, and COURIER_SMTP_URL', { subject: input.subject });
    return { sent: [] };
  }
  await deps.mailer.sendMail({ from, to, subject: `[courier] ${input.subject}`, text: input.lines.join('\n') });
  log.info('mail sent', { to, subject: input.subject });
  return { sent: to };
}
