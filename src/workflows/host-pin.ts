import { TimeoutType } from '@temporalio/common';
import { ActivityFailure, ApplicationFailure, proxyActivities, TimeoutFailure, type ActivityOptions } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { HostSettings } from '../jobs/settings';
import type { JobProgress } from '../kinds/registry';
import { hostQueue } from '../jobs/keys';
import { CourierHost } from '../search-attributes';
import { quickStep } from './activity-options';
import type { JobTracker } from './job-tracker';

/** Nothing polled the queue in time: the one failure that says a host (or every worker of a topic) is not there. */
export function notPickedUp(err: unknown): boolean {
  return err instanceof ActivityFailure && err.cause instanceof TimeoutFailure && err.cause.timeoutType === TimeoutType.SCHEDULE_TO_START;
}

/** The pinned host stopped polling and the job may move: the workflow starts its file steps again elsewhere. */
export class HostLost extends Error {
  constructor(readonly host: string) {
    super(`host ${host} stopped polling ${hostQueue(host)}`);
    this.name = 'HostLost';
  }
}

export interface HostPin {
  /** The host the file steps run on, once the first one ran. */
  readonly host: string | undefined;
  /**
   * Runs the job's first file step: on the host the message named, else on
   * whichever worker takes it from the shared queue; the host it reports pins the rest.
   */
  first<T extends { host?: string }>(options: ActivityOptions, call: (on: Activities) => Promise<T>): Promise<T>;
  /** Runs a file step on the pinned host. A lost host is waited for, or (a job that may move) ends in HostLost. */
  step<T>(options: ActivityOptions, call: (on: Activities) => Promise<T>): Promise<T>;
  /**
   * Runs the job's file steps. When their host is lost (a job that may move),
   * says so in the status log, lets the caller drop what lived on that host,
   * and runs them again: `first` then picks a new host.
   */
  run<T>(fileSteps: () => Promise<T>, restart: (lost: string) => void): Promise<T>;
  /** A cleanup step on the pinned host, tried once: a host that is gone keeps its files, and the job does not wait for it. */
  cleanup(options: ActivityOptions, call: (on: Activities) => Promise<unknown>): Promise<void>;
}

/**
 * Keeps every file step of a job on one host: the files it makes (staging,
 * temp files, ETL stages) exist only there. Without host settings (a job
 * started before hosts existed) steps run on the shared queue as they used to.
 */
export function pinHost(
  job: JobTracker<JobProgress>,
  options: { settings?: HostSettings; heartbeatTimeoutMs: number; named?: string; pinned?: string; mayMove: boolean },
): HostPin {
  const { settings, named } = options;
  let host = options.pinned ?? named;
  if (host && settings) job.runsOn(host);
  let waitingSince: number | undefined;
  let waitNoted: Promise<void> | undefined;
  // A job continued as new already set its search attribute.
  let announced = options.pinned;
  const { hostPolledWithin } = proxyActivities<Activities>(quickStep(options));

  // The first host is a search attribute (status, list, UI); only a move to another one is a line in the status log.
  const pinTo = (name: string | undefined) => {
    if (!name || !settings) return;
    host = name;
    job.runsOn(name);
    if (name === announced) return;
    if (announced !== undefined) job.note(`file steps now run on host ${name}`);
    announced = name;
    job.label([{ key: CourierHost, value: name }]);
  };

  /** A host that was just slow to take the step (all its slots busy) still polls; a lost one does not. */
  const gone = async (name: string) => !(await hostPolledWithin({ host: name, withinMs: settings!.lostAfterMs }));

  const waitFor = async (name: string) => {
    const now = Date.now();
    if (waitingSince === undefined) {
      waitingSince = now;
      const why = `host ${name} stopped polling ${hostQueue(name)}; the job waits up to ${Math.round(settings!.waitMs / 1000)} s for it (COURIER_HOST_WAIT)`;
      job.set('waiting-for-host', why);
      waitNoted = job.notify('escalated', { cause: why });
    }
    await waitNoted;
    if (Date.now() - waitingSince >= settings!.waitMs) {
      throw ApplicationFailure.nonRetryable(
        `host ${name} did not come back within ${Math.round(settings!.waitMs / 1000)} s; start \`courier worker\` with COURIER_HOST=${name} there, or submit the job again naming another host`,
        'HostLost',
      );
    }
  };

  const onHost = (name: string, stepOptions: ActivityOptions) => {
    // While waiting, a step may sit in the queue for the rest of the wait: it runs the moment the host polls again.
    const waited = waitingSince === undefined ? 0 : Date.now() - waitingSince;
    const scheduleToStartTimeout = waitingSince === undefined ? settings!.lostAfterMs : Math.max(1000, settings!.waitMs - waited);
    return proxyActivities<Activities>({ ...stepOptions, taskQueue: hostQueue(name), scheduleToStartTimeout });
  };

  const runOn = async <T>(name: string, stepOptions: ActivityOptions, call: (on: Activities) => Promise<T>): Promise<T> => {
    for (;;) {
      try {
        const result = await call(onHost(name, stepOptions));
        if (waitingSince !== undefined) {
          waitingSince = undefined;
          job.set('running', `host ${name} is back`);
        }
        return result;
      } catch (err) {
        if (!notPickedUp(err)) throw err;
        if (waitingSince === undefined && !(await gone(name))) continue;
        if (options.mayMove) throw new HostLost(name);
        await waitFor(name);
      }
    }
  };

  return {
    get host() {
      return host;
    },
    async first(stepOptions, call) {
      if (!settings) return call(proxyActivities<Activities>(stepOptions));
      const result = host ? await runOn(host, stepOptions, call) : await call(proxyActivities<Activities>(stepOptions));
      pinTo(result.host ?? host);
      return result;
    },
    step(stepOptions, call) {
      if (!settings || !host) return call(proxyActivities<Activities>(stepOptions));
      return runOn(host, stepOptions, call);
    },
    async run(fileSteps, restart) {
      for (;;) {
        try {
          return await fileSteps();
        } catch (err) {
          if (!(err instanceof HostLost)) throw err;
          job.note(
            `host ${err.host} lost: nothing polled its queue for ${Math.round(settings!.lostAfterMs / 1000)} s; ` +
              'the file steps start again on another host from what the store has verified',
          );
          restart(err.host);
          host = named;
        }
      }
    },
    async cleanup(stepOptions, call) {
      const on =
        settings && host
          ? proxyActivities<Activities>({ ...stepOptions, taskQueue: hostQueue(host), scheduleToStartTimeout: settings.lostAfterMs })
          : proxyActivities<Activities>(stepOptions);
      await call(on).catch(() => undefined);
    },
  };
}
