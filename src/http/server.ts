import { timingSafeEqual } from 'node:crypto';
import type { Client } from '@temporalio/client';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import { cancelJob, getJob, pauseJob, resumeJob, submit } from '../client';
import type { Config } from '../config';
import type { Logger } from '../logger';
import { courierMetrics } from '../metrics';
import { listJobPage, parseJobFilter, type JobFilter } from '../operations/job-pages';
import { retryJob } from '../operations/retry-job';
import { describeHosts, describeQueues } from '../operations/task-queues';
import { MessageError } from '../jobs/message-error';
import { hostTag } from '../security/host-tags';
import { sendError, sendFailure } from './errors';
import { openApiDocument } from './openapi';
import { backupName } from '../jobs/fields';
import { snapshotViews } from '../operations/snapshot-views';
import { repositoryOpener } from '../repository/open';
import { RepositoryError, type Repository } from '../repository/repository';
import { openStore, type ObjectStore } from '../stores';
import { isDashboardAsset, registerDashboard } from '../dashboard/serve';
import { listHolds, placeHold, releaseHold } from '../operations/holds';
import { startMessageOf } from '../operations/job-message';
import { overview } from '../operations/overview';

export interface HttpDeps {
  config: Config;
  client: Client;
  logger: Logger;
  /** When a worker runs in this process: when it started, and where the SDK serves its metrics. */
  worker?: { startedAt: Date; sdkMetricsUrl?: string };
  version?: string;
}

/** Routes this API has, for 405 answers with an Allow header. */
const ROUTES: { pattern: RegExp; methods: string[] }[] = [
  { pattern: /^\/v1\/jobs\/?$/, methods: ['GET', 'POST'] },
  { pattern: /^\/v1\/jobs\/[^/]+\/?$/, methods: ['GET'] },
  { pattern: /^\/v1\/jobs\/[^/]+\/(cancel|pause|resume|retry)\/?$/, methods: ['POST'] },
  { pattern: /^\/v1\/queues\/?$/, methods: ['GET'] },
  { pattern: /^\/v1\/overview\/?$/, methods: ['GET'] },
  { pattern: /^\/v1\/holds\/?$/, methods: ['GET', 'POST'] },
  { pattern: /^\/v1\/holds\/[^/]+\/[^/]+\/?$/, methods: ['DELETE'] },
  { pattern: /^\/v1\/backups\/[^/]+\/snapshots\/?$/, methods: ['GET'] },
  { pattern: /^\/(healthz|metrics|openapi\.json)$/, methods: ['GET'] },
];

function tokenMatches(given: string | undefined, expected: string): boolean {
  const match = /^Bearer (.+)$/i.exec(given ?? '');
  if (!match) return false;
  const [a, b] = [Buffer.from(match[1]), Buffer.from(expected)];
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Filters from the query string, refusing unknown values by name. */
function pageQuery(config: Config, query: Record<string, string | undefined>): { filter: JobFilter; pageSize: number; pageToken?: string } {
  const { pageSize: size, pageToken, ...rest } = query;
  const pageSize = size === undefined ? 50 : Number(size);
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1000)
    throw new MessageError(`bad query parameter pageSize: ${size}; use 1-1000`, ['pageSize']);
  const filter = parseJobFilter(rest);
  // Jobs carry a host as its queue knows it: with the codec on, its tag.
  return { filter: filter.host ? { ...filter, host: hostTag(config.codecKeys, filter.host) } : filter, pageSize, pageToken };
}

/** The operator's HTTP API over Temporal: jobs, queues, health, metrics. */
export function createHttpServer(deps: HttpDeps): FastifyInstance {
  const { config, client } = deps;
  const startedAt = new Date();
  const app = Fastify({ loggerInstance: deps.logger.child({ component: 'http' }) as FastifyBaseLogger, bodyLimit: config.http.bodyLimit });
  // One store for the process, opened on first use.
  let opened: ObjectStore | undefined;
  const store = () => (opened ??= openStore(config));

  // With a token set, every route but /healthz needs one: job listings show paths, hosts and command output.
  app.addHook('onRequest', async (request: FastifyRequest, reply) => {
    const { token, readToken } = config.http;
    const path = request.url.split('?')[0];
    if (!token || path === '/healthz' || (request.method === 'GET' && isDashboardAsset(path))) return;
    const given = request.headers.authorization;
    const reading = request.method === 'GET' || request.method === 'HEAD';
    if (tokenMatches(given, token) || (reading && readToken && tokenMatches(given, readToken))) return;
    if (!reading && readToken && tokenMatches(given, readToken)) {
      return sendError(
        reply,
        403,
        'Forbidden',
        'the read-only token (COURIER_HTTP_READ_TOKEN) may look but not act; this route needs COURIER_HTTP_TOKEN',
      );
    }
    const accepted = reading && readToken ? 'COURIER_HTTP_TOKEN or COURIER_HTTP_READ_TOKEN' : 'COURIER_HTTP_TOKEN';
    return sendError(reply.header('www-authenticate', 'Bearer'), 401, 'Unauthorized', `this route needs \`Authorization: Bearer <${accepted}>\``);
  });

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, _request, reply) => {
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
      return sendError(reply, 413, 'PayloadTooLarge', `request body above the limit of ${config.http.bodyLimit} bytes (COURIER_HTTP_BODY_LIMIT)`);
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) return sendError(reply, err.statusCode, 'BadRequest', err.message);
    return sendFailure(reply, err);
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0];
    const route = ROUTES.find((r) => r.pattern.test(path));
    if (route) {
      return sendError(
        reply.header('allow', route.methods.join(', ')),
        405,
        'MethodNotAllowed',
        `${request.method} ${path} is not allowed; use ${route.methods.join(' or ')}`,
      );
    }
    return sendError(reply, 404, 'NotFound', `no route ${request.method} ${path}; see /openapi.json`);
  });

  app.post('/v1/jobs', async (request, reply) => {
    try {
      const submission = await submit(client, config, request.body, store());
      return reply.code(200).send({ ...(await getJob(client, submission.jobId)), alreadySubmitted: submission.alreadyFinished || undefined });
    } catch (err) {
      return sendFailure(reply, err);
    }
  });

  app.get('/v1/jobs', async (request, reply) => {
    try {
      const { filter, pageSize, pageToken } = pageQuery(config, request.query as Record<string, string | undefined>);
      return await listJobPage(client, { ...filter, taskQueue: config.taskQueue }, pageSize, pageToken);
    } catch (err) {
      return sendFailure(reply, err);
    }
  });

  app.get<{ Params: { id: string } }>('/v1/jobs/:id', async (request, reply) => {
    try {
      const id = request.params.id;
      const [view, message] = await Promise.all([getJob(client, id), startMessageOf(client, id).catch(() => undefined)]);
      const ui = config.http.temporalUiUrl;
      const links = ui
        ? { temporalUi: `${ui}/namespaces/${encodeURIComponent(config.temporal.namespace)}/workflows/${encodeURIComponent(id)}` }
        : undefined;
      return { ...view, ...(message !== undefined ? { message } : {}), ...(links ? { links } : {}) };
    } catch (err) {
      return sendFailure(reply, err);
    }
  });

  const actions = { cancel: cancelJob, pause: pauseJob, resume: resumeJob } as const;
  for (const [name, act] of Object.entries(actions)) {
    app.post<{ Params: { id: string } }>(`/v1/jobs/:id/${name}`, async (request, reply) => {
      try {
        await act(client, request.params.id);
        return await getJob(client, request.params.id);
      } catch (err) {
        return sendFailure(reply, err);
      }
    });
  }
  app.post<{ Params: { id: string } }>('/v1/jobs/:id/retry', async (request, reply) => {
    try {
      const submission = await retryJob(client, config, request.params.id, store());
      return await getJob(client, submission.jobId);
    } catch (err) {
      return sendFailure(reply, err);
    }
  });

  // The repository is opened on first use: a server that never lists snapshots needs no store key.
  let repository: (() => Promise<Repository>) | undefined;
  app.get<{ Params: { name: string } }>('/v1/backups/:name/snapshots', async (request, reply) => {
    const name = backupName.safeParse(request.params.name);
    if (!name.success)
      return sendError(reply, 400, 'BadRequest', `bad backup name "${request.params.name}": ${name.error.issues[0]?.message}`, { fields: ['name'] });
    try {
      repository ??= repositoryOpener(config, store());
      const snapshots = await snapshotViews(await repository(), store(), name.data);
      if (snapshots.length === 0) return sendError(reply, 404, 'NotFound', `no snapshots of "${name.data}"`);
      return { name: name.data, snapshots };
    } catch (err) {
      if (err instanceof RepositoryError) return sendError(reply, 409, 'Conflict', err.message);
      return sendFailure(reply, err);
    }
  });

  app.get('/v1/queues', async (_request, reply) => {
    try {
      const [queues, hosts, holds] = await Promise.all([describeQueues(client, config), describeHosts(client, config), listHolds(store())]);
      return { queues, hosts, holds };
    } catch (err) {
      return sendFailure(reply, err);
    }
  });

  app.get('/v1/overview', async (_request, reply) => {
    try {
      return await overview(client, config, await listHolds(store()));
    } catch (err) {
      return sendFailure(reply, err);
    }
  });

  app.get('/v1/holds', async (_request, reply) => {
    try {
      return { holds: await listHolds(store()) };
    } catch (err) {
      return sendFailure(reply, err);
    }
  });

  app.post('/v1/holds', async (request, reply) => {
    try {
      const placed = await placeHold({ client, config, store: store() }, request.body);
      return { ...placed.hold, held: placed.held };
    } catch (err) {
      return sendFailure(reply, err);
    }
  });

  app.delete<{ Params: { scope: string; name: string } }>('/v1/holds/:scope/:name', async (request, reply) => {
    try {
      return await releaseHold({ client, config, store: store() }, { scope: request.params.scope, name: request.params.name });
    } catch (err) {
      return sendFailure(reply, err);
    }
  });

  app.get('/healthz', async (_request, reply) => {
    const uptime = (since: Date) => Math.round((Date.now() - since.getTime()) / 1000);
    const body = {
      temporal: {
        address: config.temporal.address,
        namespace: config.temporal.namespace,
        reachable: false,
        serverVersion: undefined as string | undefined,
      },
      server: { uptimeSeconds: uptime(startedAt) },
      worker: deps.worker ? { running: true, uptimeSeconds: uptime(deps.worker.startedAt) } : { running: false },
    };
    try {
      const info = await client.withDeadline(Date.now() + 3000, () => client.workflowService.getSystemInfo({}));
      Object.assign(body.temporal, { reachable: true, serverVersion: info.serverVersion || undefined });
      // Hosts are news, not health: a lost host shows here, and the API stays healthy.
      const hosts = await client.withDeadline(Date.now() + 3000, () => describeHosts(client, config)).catch(() => undefined);
      return { ...body, ...(hosts ? { hosts } : {}) };
    } catch (err) {
      return reply.code(503).send({ ...body, error: (err as Error).message });
    }
  });

  app.get('/metrics', async (_request, reply) => {
    let sdk = '';
    if (deps.worker?.sdkMetricsUrl) {
      sdk = await fetch(deps.worker.sdkMetricsUrl)
        .then((r) => (r.ok ? r.text() : ''))
        .catch(() => '');
    }
    const own = await courierMetrics.metrics();
    return reply.type('text/plain; version=0.0.4; charset=utf-8').send(`${sdk.trimEnd()}${sdk ? '\n' : ''}${own}`);
  });

  app.get('/openapi.json', async () => openApiDocument(deps.version ?? '0.0.0'));

  registerDashboard(app);

  return app;
}
