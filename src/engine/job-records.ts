import type { JobEvent } from '../domain/events.js';
import type { EventMetadata, NewEvent } from '../domain/ports/event-store.js';

/** How the engine stamps what it writes: one place for ids, time and causation. */
export interface Recorder {
  newId(): string;
  now(): Date;
  engineId: string;
}

export const jobEventRecord = (
  r: Recorder,
  event: Exclude<JobEvent, { type: 'JobSubmitted' }>,
  actor: string,
  opIndex?: number,
): NewEvent => ({
  id: r.newId(),
  type: event.type,
  data: event.data,
  metadata: metadataFor(r, actor, event.data.jobId, opIndex),
});

export const metadataFor = (r: Recorder, actor: string, jobId: number, opIndex?: number): EventMetadata => ({
  actor,
  recordedAt: r.now().toISOString(),
  jobId,
  ...(opIndex !== undefined && { opIndex }),
  engineId: r.engineId,
  correlationId: `job-${jobId}`,
});
