import { z } from 'zod';
import { JOB_STATES } from '../client';
import { jobFilter } from '../operations/job-pages';
import { hold, holdRequest, HOLD_SCOPES } from '../jobs/holds';
import { JOB_TYPE_NAMES, KINDS } from '../kinds/registry';

const error = {
  type: 'object',
  required: ['error', 'message'],
  properties: {
    error: { type: 'string' },
    message: { type: 'string' },
    fields: { type: 'array', items: { type: 'string' } },
    issues: {
      type: 'array',
      description: 'each bad field by its path, with what is wrong with it',
      items: { type: 'object', required: ['field', 'message'], properties: { field: { type: 'string' }, message: { type: 'string' } } },
    },
  },
};
const json = (schema: object) => ({ content: { 'application/json': { schema } } });
const errors = (...codes: number[]) =>
  Object.fromEntries(codes.map((code) => [code, { description: `error ${code}`, ...json({ $ref: '#/components/schemas/Error' }) }]));
const jobId = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };
const job = { $ref: '#/components/schemas/Job' };
const action = (summary: string) => ({
  post: {
    summary,
    security: [{ bearer: [] }],
    parameters: [jobId],
    responses: { 200: { description: 'done', ...json(job) }, ...errors(401, 404, 409, 503) },
  },
});

const jsonSchema = (schema: z.ZodType) => z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
const holdSchema = jsonSchema(hold);

/** Each kind's message, from the zod schema the server and the workers validate with. */
const messageSchemas = Object.fromEntries(
  KINDS.map((kind) => [`${kind.name}Message`, { description: kind.description, ...jsonSchema(kind.schema) }]),
);

/** The list filters as query parameters, from the same schema `courier list` checks. */
const filterParameters = Object.entries(jsonSchema(jobFilter).properties ?? {})
  .filter(([name]) => name !== 'taskQueue')
  .map(([name, schema]) => ({ name, in: 'query', schema }));

/** The API's OpenAPI 3.1 description, generated from the registry of kinds and the schemas the server validates with. */
export function openApiDocument(version: string) {
  return {
    openapi: '3.1.0',
    info: { title: 'courier', version, description: 'Durable file and message pipelines on Temporal: submit, inspect and control jobs.' },
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description: 'when COURIER_HTTP_TOKEN is set, every route but /healthz needs it; COURIER_HTTP_READ_TOKEN may GET but not POST',
        },
      },
      schemas: {
        ...messageSchemas,
        Message: {
          oneOf: KINDS.map((kind) => ({ $ref: `#/components/schemas/${kind.name}Message` })),
          discriminator: { propertyName: 'kind', mapping: Object.fromEntries(KINDS.map((k) => [k.name, `#/components/schemas/${k.name}Message`])) },
        },
        Error: error,
        Job: {
          type: 'object',
          required: ['jobId', 'kind', 'status'],
          properties: {
            jobId: { type: 'string' },
            kind: { type: 'string', enum: JOB_TYPE_NAMES },
            status: { type: 'string', enum: JOB_STATES },
            host: { type: 'string', description: 'the host its file steps run on, once pinned' },
            startTime: { type: 'string', format: 'date-time' },
            closeTime: { type: 'string', format: 'date-time' },
            progress: {
              type: 'object',
              description:
                "while running: kind, phase, status, holds (operators' holds keeping it from new work, scope:name) and the counts of the job's type (parts and bytes, hosts, files, batches)",
            },
            statusLog: { type: 'array', items: { type: 'object' } },
            message: { type: 'object', description: 'the message the job was started with (GET /v1/jobs/{id} only)' },
            links: { type: 'object', properties: { temporalUi: { type: 'string', description: "the job's history in the Temporal web UI" } } },
            result: { type: 'object', description: "the job type's result; its kind field says which" },
            error: { type: 'string' },
          },
        },
      },
    },
    paths: {
      '/v1/jobs': {
        post: {
          summary: 'Submit a message of any kind; the same id submitted again returns the existing job',
          security: [{ bearer: [] }],
          requestBody: { required: true, ...json({ $ref: '#/components/schemas/Message' }) },
          responses: { 200: { description: 'the job', ...json(job) }, ...errors(400, 401, 413, 503) },
        },
        get: {
          summary: 'List jobs through Temporal visibility, newest first',
          parameters: [
            ...filterParameters,
            { name: 'pageSize', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000, default: 50 } },
            { name: 'pageToken', in: 'query', schema: { type: 'string' } },
          ],
          responses: {
            200: {
              description: 'a page of jobs',
              ...json({ type: 'object', properties: { jobs: { type: 'array', items: job }, nextPageToken: { type: 'string' } } }),
            },
            ...errors(400, 503),
          },
        },
      },
      '/v1/jobs/{id}': {
        get: {
          summary: 'Status, progress and status log of a job',
          parameters: [jobId],
          responses: { 200: { description: 'the job', ...json(job) }, ...errors(404, 503) },
        },
      },
      '/v1/jobs/{id}/cancel': action('Cancel a job; it cleans up and ends cancelled'),
      '/v1/jobs/{id}/pause': action('Stop scheduling new work (work in flight finishes)'),
      '/v1/jobs/{id}/resume': action('Resume a paused job'),
      '/v1/jobs/{id}/retry': action('Start a job that failed again from its original message, as a new run of the same id'),
      '/v1/queues': {
        get: {
          summary: 'Every task queue courier uses, with pollers and backlog',
          responses: { 200: { description: 'queues', ...json({ type: 'object' }) } },
        },
      },
      '/v1/overview': {
        get: {
          summary:
            'Jobs by kind and status, finished per hour and failure rate over the last day, running jobs with progress, recent failures, hosts, holds',
          security: [{ bearer: [] }],
          responses: { 200: { description: 'the overview', ...json({ type: 'object' }) }, ...errors(401, 503) },
        },
      },
      '/v1/holds': {
        get: {
          summary: 'The holds in place',
          security: [{ bearer: [] }],
          responses: { 200: { description: 'holds', ...json({ type: 'object', properties: { holds: { type: 'array', items: holdSchema } } }) } },
        },
        post: {
          summary: 'Hold a kind, a dispatch topic or a host: its running jobs start no new work, new jobs wait; the hold outlives restarts',
          security: [{ bearer: [] }],
          requestBody: { required: true, ...json(jsonSchema(holdRequest)) },
          responses: { 200: { description: 'the hold, and how many running jobs were told', ...json(holdSchema) }, ...errors(400, 401, 403, 503) },
        },
      },
      '/v1/holds/{scope}/{name}': {
        delete: {
          summary: 'Release a hold: the jobs it held go on',
          security: [{ bearer: [] }],
          parameters: [
            { name: 'scope', in: 'path', required: true, schema: { type: 'string', enum: HOLD_SCOPES } },
            { name: 'name', in: 'path', required: true, schema: { type: 'string' } },
          ],
          responses: { 200: { description: 'released', ...json({ type: 'object' }) }, ...errors(400, 401, 403, 404, 503) },
        },
      },
      '/v1/backups/{name}/snapshots': {
        get: {
          summary: "A backup name's snapshots, oldest first; restore one by giving its id as the restore message's snapshot",
          parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string' } }],
          responses: {
            200: { description: 'snapshots', ...json({ type: 'object' }) },
            404: { description: 'no snapshots of that name' },
            409: { description: 'the repository cannot be opened (no repository, no key, wrong key)' },
          },
        },
      },
      '/healthz': {
        get: {
          summary: 'Temporal reachable, server and worker uptime',
          responses: { 200: { description: 'healthy', ...json({ type: 'object' }) }, 503: { description: 'Temporal unreachable' } },
        },
      },
      '/metrics': {
        get: {
          summary: 'Prometheus text: the SDK metrics and courier counters',
          responses: { 200: { description: 'metrics', content: { 'text/plain': { schema: { type: 'string' } } } } },
        },
      },
      '/openapi.json': { get: { summary: 'This document', responses: { 200: { description: 'OpenAPI 3.1' } } } },
    },
  };
}
