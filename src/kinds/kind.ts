import type { WorkflowIdReusePolicy } from '@temporalio/common';
import type { Command } from 'commander';
import type { z } from 'zod';
import type { ActivityDeps } from '../activities/deps';
import type { Config } from '../config';
import type { ProgressBase } from '../jobs/progress';

/** What a progress bar or `courier status` shows of a job: a count toward a total, and a line in the kind's own words. */
export interface Meter {
  done: number;
  total: number;
  /** 'bytes' draws sizes and a rate; anything else is a count of that thing. */
  unit: string;
  text: string;
}

/** A workflow courier runs: a message kind's, or one a job starts (the ETL transforms, loads and cleanups). */
export interface JobType<Name extends string, Input, Result, Progress extends ProgressBase> {
  name: Name;
  /** Started by this reference, never by a name typed twice. */
  workflow: (input: Input) => Promise<Result>;
  /** One or more lines for `courier status` and `--wait`. */
  summary(result: Result): string;
  meter(progress: Progress): Meter;
}

/** Submits a message and follows it as the CLI's --wait asks; what a kind's command calls. */
export type SubmitFromCli = (message: unknown, options: { wait?: boolean; json?: boolean }) => Promise<void>;

/** A kind of message: everything courier knows about it, in its folder, joined in the registry. */
export interface MessageKind<
  Name extends string,
  Schema extends z.ZodType<{ kind: Name; id?: string }>,
  Input,
  Result,
  Progress extends ProgressBase,
  Activities extends object = object,
> extends JobType<Name, Input, Result, Progress> {
  /** For --help and the API description. */
  description: string;
  schema: Schema;
  /** The job id when the message names none (`id`), derived from what it asks for, so the same message finds the same job. */
  jobId(message: z.output<Schema>): string;
  /** Whether a finished job's id may run again. */
  reusePolicy: WorkflowIdReusePolicy;
  /**
   * The workflow's input: the message with its id and the settings this
   * machine's configuration gives it. Throws MessageError naming the field
   * when the configuration cannot run it (an unknown format or pipeline).
   */
  input(config: Config, message: z.output<Schema> & { id: string }): Input;
  /** The activities its workflows run on the control queue and pinned hosts, bound to the worker's dependencies. */
  activities?(deps: ActivityDeps): Activities;
  /** The kind's own CLI command, submitting through `submit`. */
  command?(program: Command, submit: SubmitFromCli): void;
}
