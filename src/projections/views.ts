import { AUDIT_STREAM, isAuditEventType } from '../domain/audit-events.js';
import { evolveCluster } from '../domain/cluster-evolve.js';
import { emptyClusterState, type ClusterState } from '../domain/cluster-state.js';
import { isClusterEventType, parseEvent, type ClusterEvent, type JobEvent } from '../domain/events.js';
import type { RecordedEvent } from '../domain/ports/event-store.js';
import { evolveJob, newJobView, type JobView } from './job-view.js';

export const CLUSTER_STREAM = 'cluster';
export const JOB_QUEUE_STREAM = 'job-queue';
export const jobStream = (id: number): string => `job-${id}`;

/** Everything the log says, folded: the cluster configuration and every job. */
export interface Views {
  cluster: ClusterState;
  jobs: Map<number, JobView>;
  /** Ids of jobs that have not finished yet, so schedulers need not scan history. */
  openJobs: Set<number>;
  /** Global position of the last event folded in; 0n before any. */
  position: bigint;
  lastRecordedAt?: string;
}

export const emptyViews = (): Views => ({
  cluster: emptyClusterState(),
  jobs: new Map(),
  openJobs: new Set(),
  position: 0n,
});

/** Folds one recorded event in place. Payloads are parsed with their schema on the way in. */
export const evolveViews = (views: Views, recorded: RecordedEvent): Views => {
  views.position = recorded.position;
  views.lastRecordedAt = recorded.metadata.recordedAt;
  const event = parseEvent(recorded.type, recorded.data);
  if (recorded.stream === AUDIT_STREAM && isAuditEventType(recorded.type)) return views;
  if (recorded.stream === CLUSTER_STREAM && isClusterEventType(event.type)) {
    const clusterEvent = event as ClusterEvent;
    evolveCluster(views.cluster, clusterEvent, recorded.revision);
    const { jobId, opIndex } = recorded.metadata;
    const op = jobId === undefined || opIndex === undefined ? undefined : views.jobs.get(jobId)?.opcodes[opIndex];
    if (!op) return views;
    if (clusterEvent.type === 'SagaBegun') op.saga = { sagaId: clusterEvent.data.sagaId, steps: [] };
    else if (clusterEvent.type === 'SagaCompleted' && op.saga) op.saga.ended = 'completed';
    else if (clusterEvent.type === 'SagaUndone' && op.saga) op.saga.ended = 'undone';
    else op.effectRecorded = true;
    return views;
  }
  const jobEvent = event as JobEvent;
  if (jobEvent.type === 'JobSubmitted') {
    const id = Number(recorded.revision) + 1;
    views.jobs.set(id, newJobView(id, jobEvent.data));
    views.openJobs.add(id);
    return views;
  }
  const job = views.jobs.get(jobEvent.data.jobId);
  if (job) evolveJob(job, jobEvent, recorded.metadata.recordedAt);
  if (jobEvent.type === 'JobFinished') views.openJobs.delete(jobEvent.data.jobId);
  return views;
};
