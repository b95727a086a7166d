import type { HoldRef } from './holds';

export const holdId = (ref: HoldRef) => `${ref.scope}:${ref.name}`;

/** What a job is, for matching holds: its job type, its dispatch topic, the host its file steps run on. */
export interface HoldTarget {
  kind: string;
  topic?: string;
  host?: string;
}

/** Whether a hold applies to a job. A kind covers the jobs it starts too: holding `etl` holds its transforms and loads. */
export function holdApplies(ref: HoldRef, job: HoldTarget): boolean {
  switch (ref.scope) {
    case 'kind':
      return job.kind === ref.name || job.kind.startsWith(`${ref.name}-`);
    case 'topic':
      return job.topic === ref.name;
    case 'host':
      return job.host === ref.name;
  }
}
