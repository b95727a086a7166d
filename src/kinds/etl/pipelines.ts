import fs from 'node:fs';
import { z } from 'zod';

/** A SQL identifier courier writes into statements itself, so it is kept to a safe alphabet. */
const identifier = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, 'use letters, digits and "_" (a SQL identifier)');

/** Location names become directories (L/<location>/failed), so they may not shadow the stage's own. */
const RESERVED = ['working', 'work_in_progress', 'resolved', 'validate'];
export const locationName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/, 'use letters, digits, "-" and "_"')
  .refine((name) => !RESERVED.includes(name), `must not be one of ${RESERVED.join(', ')}`);

export const pipelineName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/, 'use letters, digits, "-" and "_"');

const location = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('postgres'), url: z.url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// URL' }) }),
  z.strictObject({ kind: z.literal('mariadb'), url: z.url({ protocol: /^(mysql|mariadb)$/, error: 'must be a mysql:// or mariadb:// URL' }) }),
  z.strictObject({ kind: z.literal('sqlite'), path: z.string().min(1) }),
]);

const column = z.strictObject({
  name: identifier,
  type: z.enum(['string', 'integer', 'number', 'boolean']).default('string'),
  required: z.boolean().default(true),
});

const pipeline = z
  .strictObject({
    /** auto: by extension, .csv is CSV and .jsonl / .ndjson is JSON Lines. */
    format: z.enum(['csv', 'jsonl', 'auto']).default('auto'),
    /** Globs a file name must match to be extracted; everything else in a source directory is left alone. */
    patterns: z.array(z.string().min(1)).min(1).default(['*']),
    columns: z.array(column).min(1),
    /** The columns that identify a record: the table's primary key, so a repeated load inserts nothing twice. */
    key: z.array(identifier).min(1),
    table: identifier,
    /** Records per Load job; 1 is the seed's one job per unit. */
    batchSize: z.number().int().min(1).max(100_000).default(500),
    locations: z.array(locationName).min(1),
    /** Who hears about invalid files and failed locations; falls back to the file's `notify`, then COURIER_NOTIFY_EMAIL. */
    notify: z.array(z.email()).optional(),
  })
  .superRefine((p, ctx) => {
    const names = p.columns.map((c) => c.name);
    for (const key of p.key)
      if (!names.includes(key)) ctx.addIssue({ code: 'custom', path: ['key'], message: `key column "${key}" is not among the columns` });
    if (new Set(names).size !== names.length) ctx.addIssue({ code: 'custom', path: ['columns'], message: 'column names repeat' });
  });

export const etlFile = z
  .strictObject({
    notify: z.array(z.email()).optional(),
    locations: z.record(locationName, location),
    pipelines: z.record(pipelineName, pipeline),
  })
  .superRefine((file, ctx) => {
    for (const [name, p] of Object.entries(file.pipelines)) {
      for (const loc of p.locations) {
        if (!file.locations[loc])
          ctx.addIssue({ code: 'custom', path: ['pipelines', name, 'locations'], message: `location "${loc}" is not defined under "locations"` });
      }
    }
  });

export type EtlFile = z.infer<typeof etlFile>;
export type Pipeline = z.infer<typeof pipeline>;
export type Column = Pipeline['columns'][number];
export type Location = z.infer<typeof location>;

export class EtlConfigError extends Error {}

/** The pipeline file as a worker reads it: parsed once, and again whenever it changes. */
export interface PipelineFile {
  read(): EtlFile;
  pipeline(name: string): Pipeline;
}

/**
 * Re-read when the file changes, so an operator can fix a pipeline and move a
 * failed file back without restarting workers.
 */
export function openPipelineFile(file: string): PipelineFile {
  let cached: { stamp: string; value: EtlFile } | undefined;
  const read = (): EtlFile => {
    const stamp = stampOf(file);
    if (cached?.stamp !== stamp) cached = { stamp, value: readEtlFile(file) };
    return cached.value;
  };
  return { read, pipeline: (name) => pipelineIn(file, read(), name) };
}

function stampOf(file: string): string {
  try {
    const stat = fs.statSync(file);
    return `${stat.mtimeMs}:${stat.size}`;
  } catch {
    return 'missing';
  }
}

/** Reads and checks the pipeline file, naming what is wrong and where. */
export function readEtlFile(file: string): EtlFile {
  try {
    fs.statSync(file);
  } catch {
    throw new EtlConfigError(
      `the ETL pipeline file ${file} does not exist; write one (see README "ETL pipelines") or point COURIER_ETL_CONFIG at it`,
    );
  }
  let data: unknown;
  try {
    data = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new EtlConfigError(`the ETL pipeline file ${file} is not valid JSON: ${(err as Error).message}`);
  }
  const parsed = etlFile.safeParse(data);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${issue.path.join('.') || '(file)'}: ${issue.message}`);
    throw new EtlConfigError(`the ETL pipeline file ${file} is invalid:\n${lines.join('\n')}`);
  }
  return parsed.data;
}

export function pipelineOf(file: string, name: string): Pipeline {
  return pipelineIn(file, readEtlFile(file), name);
}

function pipelineIn(file: string, etl: EtlFile, name: string): Pipeline {
  const found = etl.pipelines[name];
  if (!found) throw new EtlConfigError(`no pipeline "${name}" in ${file}; it defines ${Object.keys(etl.pipelines).join(', ') || 'none'}`);
  return found;
}
