import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ChildProcess } from 'node:child_process';
import type { FastifyInstance } from 'fastify';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { listJobs, submit, waitForJob } from '../src/client';
import { createLogger } from '../src/logger';
import { startHttpServer } from '../src/http/start';
import { POLLER_STALE_MS } from '../src/operations/task-queues';
import { launchBrowser, screenshot } from './helpers/browser';
import { archiveDispatch } from './helpers/messages';
import { createStack, randomFile, runCli, slowSegments, spawnWorker, type Stack } from './helpers/stack';

const TOKEN = 'dashboard-token-0123456789';
const READ_TOKEN = 'dashboard-read-token-0123456789';
const KiB = 1024;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the dashboard, in a real browser against a real stack', { timeout: 300_000 }, () => {
  let stack: Stack;
  let app: FastifyInstance;
  let base: string;
  let dir: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let extraWorker: ChildProcess | undefined;
  const extraHost = `dash-extra-${process.pid}`;
  const consoleErrors: string[] = [];

  before(async () => {
    stack = await createStack({
      COURIER_HTTP_TOKEN: TOKEN,
      COURIER_HTTP_READ_TOKEN: READ_TOKEN,
      COURIER_HTTP_PORT: '0',
      COURIER_PART_SIZE: '64KiB',
      COURIER_CONCURRENCY: '2',
      COURIER_DISPATCH_CHECK_INTERVAL: '1s',
      COURIER_TEMPORAL_UI_URL: 'http://127.0.0.1:8233',
    });
    // Segments of slow-* backups take a while, so a page sees them move and can pause them.
    await stack.startWorker(slowSegments(300, (name) => name.startsWith('slow-')));
    await stack.startHandlerWorkers(['archive']);
    ({ app, url: base } = await startHttpServer({
      config: stack.config,
      client: stack.client,
      logger: createLogger(stack.config),
      worker: { startedAt: new Date() },
    }));
    dir = await fs.mkdtemp(path.join(process.env.COURIER_TEST_TMP!, 'dashboard-'));
    // A second worker process, for a dispatch topic only (it takes none of the backups the tests time): the queues page shows it polling, then gone.
    extraWorker = spawnWorker({ ...stack.env, COURIER_HOST: extraHost }, ['--handles', 'archive']);
    browser = await launchBrowser();
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    page = await context.newPage();
    page.on('console', (message) => {
      // A 400, 401 or 403 the page shows (a bad field, the token form, a refused action) is also logged as a failed resource; anything else is a defect.
      if (message.type() === 'error' && !/status of 40[013] /.test(message.text())) consoleErrors.push(message.text());
    });
    page.on('pageerror', (err) => consoleErrors.push(err.message));
  });
  after(async () => {
    extraWorker?.kill('SIGKILL');
    await browser?.close();
    await app?.close();
    await stack?.close();
  });

  const open = async (route: string) => {
    await page.goto(`${base}/${route}`);
  };
  const confirmAction = async (action: string) => {
    await page.click(`button[data-action="${action}"]`);
    await page.click('[data-testid="confirm-yes"]');
  };
  const jobStatus = () => page.getAttribute('[data-testid="job"]', 'data-status');
  const waitForStatus = (status: string, timeout = 60_000) =>
    page.waitForSelector(`[data-testid="job"][data-status="${status}"]`, { timeout }).then(() => undefined);

  it('asks for the token, and with it shows the overview', async () => {
    await open('');
    await page.waitForSelector('[data-testid="token-form"]');
    await screenshot(page, 'token');
    await page.fill('[data-testid="token-form"] input[name="token"]', TOKEN);
    await page.click('[data-testid="token-form"] button[type="submit"]');
    await page.waitForSelector('[data-testid="overview"]');
    await screenshot(page, 'overview-empty');
  });

  it('the queues page shows a second worker polling', async () => {
    await open('#/queues');
    await page.waitForSelector(`[data-testid="live-worker"]:has-text("@${extraHost}")`, { timeout: 60_000 });
    await page.waitForSelector(`[data-testid="queue-row"][data-queue="${stack.config.taskQueue}"]`);
    await screenshot(page, 'queues');
    // `courier queues` says the same from the same API.
    const table = await runCli(['queues'], stack.env);
    assert.match(table.stdout, /^QUEUE\s+ROLE\s+WF POLLERS/m);
    assert.match(table.stdout, new RegExp(`workers: .*\\d+@${extraHost}`));
    // Stopped now, so its last poll has aged past the limit by the time the last test looks for it as gone.
    extraWorker?.kill('SIGKILL');
    extraWorker = undefined;
  });

  it('submits a backup from the form, watches its progress move and sees it complete with its parts and status log', async () => {
    const source = await randomFile(dir, 'slow-form', 12 * 64 * KiB);
    await open('#/submit/backup');
    await page.waitForSelector('[data-testid="submit"] input[name="name"]');
    await page.fill('input[name="name"]', 'slow-form');
    await page.fill('input[name="source"]', source);
    await screenshot(page, 'submit');
    await page.click('[data-testid="submit"] button[type="submit"]');
    await page.waitForSelector('[data-testid="job"]');
    const seen = new Set<number>();
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && (await jobStatus()) !== 'completed') {
      const now = await page.getAttribute('[data-testid="job-progress"]', 'aria-valuenow').catch(() => null);
      if (now !== null) seen.add(Number(now));
      await sleep(150);
    }
    await waitForStatus('completed');
    const between = [...seen].filter((v) => v > 0 && v < 100);
    assert.ok(between.length >= 1, `the bar moved through values between 0 and 100: ${[...seen].sort((a, b) => a - b).join(', ')}`);
    assert.equal(await page.textContent('[data-testid="job-status"]'), 'completed');
    const cells = await page.$$eval('[data-testid="grid-cell"]', (els) => els.map((el) => el.getAttribute('data-state')));
    assert.deepEqual(cells, Array(12).fill('done'), 'a cell per part, every one done');
    const log = await page.$$eval('[data-testid="status-log"] li', (els) => els.map((el) => el.textContent ?? ''));
    assert.ok(log.some((line) => line.includes('running')) && log.some((line) => line.includes('completed')), `status log: ${log.join(' | ')}`);
    assert.match((await page.getAttribute('a[href*="/namespaces/default/workflows/"]', 'href')) ?? '', /^http:\/\/127\.0\.0\.1:8233\//);
    await screenshot(page, 'job-completed');
  });

  it('a bad message shows the error at its field and starts nothing', async () => {
    const before = (await listJobs(stack.client, { taskQueue: stack.config.taskQueue })).length;
    await open('#/submit/backup');
    await page.waitForSelector('[data-testid="submit"] input[name="name"]');
    await page.fill('input[name="name"]', 'bad-one');
    await page.fill('input[name="source"]', 'relative/path.iso');
    await page.click('[data-testid="submit"] button[type="submit"]');
    const error = await page.waitForSelector('[data-testid="field-error-source"]');
    assert.match((await error.textContent()) ?? '', /absolute path/);
    await screenshot(page, 'submit-error');
    await sleep(500);
    assert.equal(await page.$('[data-testid="job"]'), null, 'no job page opened');
    assert.equal((await listJobs(stack.client, { taskQueue: stack.config.taskQueue })).length, before, 'no job started');
  });

  it('a failed job shows its cause; retry from its page starts it again and it completes', async () => {
    const source = path.join(dir, 'appears-later');
    const { jobId } = await submit(stack.client, stack.config, { kind: 'backup', name: 'appears-later', source });
    await waitForJob(stack.client, jobId).catch(() => undefined);
    await open(`#/jobs/${encodeURIComponent(jobId)}`);
    await waitForStatus('failed');
    assert.match((await page.textContent('[data-testid="job-error"]')) ?? '', /appears-later/);
    await screenshot(page, 'job-failed');
    await randomFile(dir, 'appears-later', 64 * KiB);
    await confirmAction('retry');
    await waitForStatus('completed');
  });

  it('pauses and resumes a running job from its page', async () => {
    const { jobId } = await submit(stack.client, stack.config, {
      kind: 'backup',
      name: 'slow-pause',
      source: await randomFile(dir, 'slow-pause', 24 * 64 * KiB),
    });
    await open(`#/jobs/${encodeURIComponent(jobId)}`);
    await waitForStatus('running');
    await confirmAction('pause');
    await waitForStatus('paused');
    await screenshot(page, 'job-paused');
    const held = Number(await page.getAttribute('[data-testid="job-progress"]', 'aria-valuenow'));
    assert.ok(held < 100, 'paused before the end');
    await confirmAction('resume');
    await waitForStatus('completed');
  });

  it('holds a topic from the queues page: a dispatch waits, and completes once released', async () => {
    await open('#/queues');
    await page.waitForSelector('[data-testid="hold-form"]');
    await page.selectOption('[data-testid="hold-form"] select[name="scope"]', 'topic');
    await page.fill('[data-testid="hold-form"] input[name="hold-name"]', 'archive');
    await page.click('[data-testid="hold-submit"]');
    await page.waitForSelector('[data-testid="hold-row"][data-hold="topic:archive"]');
    await screenshot(page, 'queues-held');

    const file = await randomFile(dir, 'manual.pdf', 4 * KiB);
    const message = archiveDispatch('manual', [file]);
    const { jobId } = await submit(stack.client, stack.config, message);
    await open(`#/jobs/${encodeURIComponent(jobId)}`);
    await waitForStatus('paused');
    assert.match((await page.textContent('[data-testid="job"]')) ?? '', /topic:archive/);
    await screenshot(page, 'job-held');
    await sleep(2000);
    assert.equal(await jobStatus(), 'paused', 'still waiting while held');

    await open('#/queues');
    await page.click('[data-testid="hold-row"][data-hold="topic:archive"] button[data-action="release"]');
    const confirm = await page.$('[data-testid="confirm-yes"]');
    if (confirm) await confirm.click();
    await page.waitForSelector('[data-testid="hold-row"][data-hold="topic:archive"]', { state: 'detached' });
    await open(`#/jobs/${encodeURIComponent(jobId)}`);
    await waitForStatus('completed');
  });

  it('lists jobs with filters and shows a phone-sized page', async () => {
    await open('#/jobs?kind=backup');
    await page.waitForSelector('[data-testid="job-row"]');
    const kinds = await page.$$eval('[data-testid="job-row"]', (rows) => rows.map((row) => row.textContent ?? ''));
    assert.ok(kinds.length >= 3 && kinds.every((row) => row.includes('backup')), `only backups: ${kinds.length}`);
    await screenshot(page, 'jobs');
    await open('');
    await page.waitForSelector('[data-testid="overview"]');
    await screenshot(page, 'overview');
    const phone = await context.newPage();
    // A new tab starts without the token the first one was given.
    await phone.addInitScript({ content: `sessionStorage.setItem('courier-token', ${JSON.stringify(TOKEN)})` });
    await phone.setViewportSize({ width: 375, height: 800 });
    await phone.goto(`${base}/#/jobs?kind=backup`);
    await phone.waitForSelector('[data-testid="job-row"]');
    await screenshot(phone, 'jobs-phone');
    const overflow = Number(await phone.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth'));
    assert.ok(overflow <= 1, `the page fits a phone's width (overflow ${overflow}px)`);
    await phone.close();
  });

  it('cancels a selection of jobs found by their id from the jobs page', async () => {
    const ids: string[] = [];
    for (const name of ['slow-bulk-1', 'slow-bulk-2']) {
      const { jobId } = await submit(stack.client, stack.config, {
        kind: 'backup',
        name,
        source: await randomFile(dir, name, 24 * 64 * KiB),
        id: name,
      });
      ids.push(jobId);
    }
    await open('#/jobs?text=slow-bulk-');
    await page.waitForSelector('[data-testid="job-row"][data-job-id="slow-bulk-2"]');
    const rows = await page.$$eval('[data-testid="job-row"]', (els) => els.map((el) => el.getAttribute('data-job-id')));
    assert.deepEqual(rows, ['slow-bulk-2', 'slow-bulk-1'], 'only the jobs whose id starts with the text, newest first');
    await page.check('input[data-select-all]');
    await page.click('button[data-bulk="cancel"]');
    await page.click('[data-testid="confirm-yes"]');
    await page.waitForSelector('[data-testid="bulk-results"] li[data-result="ok"][data-job-id="slow-bulk-1"]');
    await page.waitForSelector('[data-testid="bulk-results"] li[data-result="ok"][data-job-id="slow-bulk-2"]');
    for (const id of ids) await assert.rejects(waitForJob(stack.client, id), /cancel/i, `${id} ends cancelled`);
    await screenshot(page, 'jobs-bulk-cancelled');
  });

  it('with the read-only token the pages show, and an action is refused by the API', async () => {
    const reader = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const readerPage = await reader.newPage();
    try {
      const { jobId } = await submit(stack.client, stack.config, {
        kind: 'backup',
        name: 'slow-ro',
        source: await randomFile(dir, 'slow-ro', 24 * 64 * KiB),
      });
      await readerPage.goto(`${base}/#/jobs/${encodeURIComponent(jobId)}`);
      await readerPage.waitForSelector('[data-testid="token-form"]');
      await readerPage.fill('[data-testid="token-form"] input[name="token"]', READ_TOKEN);
      await readerPage.click('[data-testid="token-form"] button[type="submit"]');
      await readerPage.waitForSelector('[data-testid="job"][data-status="running"]', { timeout: 30_000 });
      await readerPage.click('button[data-action="pause"]');
      await readerPage.click('[data-testid="confirm-yes"]');
      const refused = await readerPage.waitForSelector('[data-testid="action-error"]');
      assert.match((await refused.textContent()) ?? '', /read-only token/);
      await screenshot(readerPage, 'read-only-refused');
      await waitForJob(stack.client, jobId);
    } finally {
      await reader.close();
    }
  });

  it('the queues page shows the stopped worker as gone', async () => {
    // The server keeps a stopped worker listed; its last poll ages past the staleness limit.
    await open('#/queues');
    await page.waitForSelector(`[data-testid="gone-worker"]:has-text("@${extraHost}")`, { timeout: POLLER_STALE_MS + 30_000 });
    await screenshot(page, 'queues-gone');
    const table = await runCli(['queues'], stack.env);
    assert.match(table.stdout, new RegExp(`gone \\(no poll for over ${POLLER_STALE_MS / 1000} s\\): .*\\d+@${extraHost}`));
    assert.deepEqual(consoleErrors, [], 'no errors in the browser console');
  });
});
