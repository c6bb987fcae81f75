import { FINISHED_JOB_STATUSES, type JobView } from '../projections/job-view.js';

/** Ganeti's order: lower priority value first (-20 … 19), then submission order. */
export const byPriority = (a: JobView, b: JobView): number => a.priority - b.priority || a.id - b.id;

export type Readiness =
  | { kind: 'ready' }
  | { kind: 'blocked'; on: number[] }
  | { kind: 'doomed'; reason: string };

/** Whether a job's dependencies let it run: all finished with success. */
export const readiness = (job: JobView, jobs: ReadonlyMap<number, JobView>): Readiness => {
  const blocking: number[] = [];
  for (const id of job.dependsOn) {
    // Only an earlier job can be waited for: a job waiting on itself or on a later one
    // (written by a client that did not check) would wait forever, or in a cycle.
    if (id >= job.id) return { kind: 'doomed', reason: `job ${job.id} depends on job ${id}, which was not submitted before it` };
    const dep = jobs.get(id);
    if (!dep) return { kind: 'doomed', reason: `job ${job.id} depends on job ${id}, which does not exist` };
    if (!FINISHED_JOB_STATUSES.has(dep.status)) blocking.push(id);
    else if (dep.status !== 'success') {
      return { kind: 'doomed', reason: `job ${job.id} depends on job ${id}, which ended in '${dep.status}'` };
    }
  }
  return blocking.length === 0 ? { kind: 'ready' } : { kind: 'blocked', on: blocking };
};

/** Index of the opcode a job has to run next, or undefined when all are done. */
export const nextOpcode = (job: JobView): number | undefined => {
  const index = job.opcodes.findIndex((op) => op.status !== 'success');
  return index === -1 ? undefined : index;
};
