import { randomUUID } from 'node:crypto';
import { GENESIS_HASH, chainHash } from '../src/domain/log-chain.js';
import type { NewEvent } from '../src/domain/ports/event-store.js';

/**
 * A realistic log: a cluster of 100 nodes and 10,000 instances built by jobs, then
 * tag changes, each job recorded as the engine records it (submission, start, the
 * domain event, success and finish).
 */
export interface Batch {
  stream: string;
  events: NewEvent[];
}

const meta = (jobId?: number, opIndex?: number) => ({
  actor: 'bench@host',
  recordedAt: new Date(1_700_000_000_000 + (jobId ?? 0) * 10).toISOString(),
  ...(jobId !== undefined && { jobId }),
  ...(opIndex !== undefined && { opIndex }),
  engineId: 'bench-engine',
  correlationId: `job-${jobId ?? 0}`,
});
const event = (type: string, data: unknown, jobId?: number, opIndex?: number): NewEvent => ({
  id: randomUUID(),
  type,
  data,
  metadata: meta(jobId, opIndex),
});

/** Yields batches (one stream each) until about `total` events have been produced. */
export function* workload(total: number): Generator<Batch> {
  let produced = 0;
  let jobId = 0;
  const nodes = Array.from({ length: 100 }, (_, i) => ({ uuid: randomUUID(), name: `node${i}` }));
  const groupUuid = randomUUID();
  const instances: string[] = [];
  const job = function* (opcode: unknown, domain: NewEvent[]): Generator<Batch> {
    jobId += 1;
    const id = jobId;
    yield { stream: 'job-queue', events: [event('JobSubmitted', { opcodes: [opcode], priority: 0, dependsOn: [], actor: 'bench@host', submittedAt: meta(id).recordedAt })] };
    yield { stream: `job-${id}`, events: [event('OpcodeStarted', { jobId: id, opIndex: 0, attempt: 1 }, id, 0)] };
    if (domain.length) yield { stream: 'cluster', events: domain.map((e) => ({ ...e, metadata: meta(id, 0) })) };
    yield {
      stream: `job-${id}`,
      events: [
        event('OpcodeSucceeded', { jobId: id, opIndex: 0, result: { changed: true } }, id, 0),
        event('JobFinished', { jobId: id, status: 'success' }, id),
      ],
    };
    produced += 4 + domain.length;
  };
  yield* job({ type: 'OP_CLUSTER_INIT', clusterName: 'bench', enabledDiskTemplates: ['diskless'], vcpuRatio: 4 }, [
    event('ClusterInitialized', { clusterName: 'bench', clusterUuid: randomUUID(), enabledDiskTemplates: ['diskless'], vcpuRatio: 64 }),
  ]);
  yield* job({ type: 'OP_GROUP_ADD', groupName: 'g' }, [event('GroupAdded', { groupUuid, groupName: 'g' })]);
  for (const n of nodes) {
    yield* job({ type: 'OP_NODE_ADD', nodeName: n.name, groupName: 'g', memoryMib: 1 << 20, cpus: 64, diskMib: 0 }, [
      event('NodeAdded', { nodeUuid: n.uuid, nodeName: n.name, groupUuid, memoryMib: 1 << 20, cpus: 64, diskMib: 0 }),
    ]);
  }
  for (let i = 0; i < 10_000 && produced < total; i++) {
    const uuid = randomUUID();
    const node = nodes[i % nodes.length]!;
    instances.push(uuid);
    yield* job(
      { type: 'OP_INSTANCE_CREATE', instanceName: `inst${i}`, diskTemplate: 'diskless', memoryMib: 64, vcpus: 1, primaryNode: node.name, start: true, tags: [] },
      [
        event('InstanceAdded', { instanceUuid: uuid, instanceName: `inst${i}`, diskTemplate: 'diskless', primaryNodeUuid: node.uuid, secondaryNodeUuids: [], memoryMib: 64, vcpus: 1, hypervisor: 'fake', tags: [] }),
        event('InstanceStarted', { instanceUuid: uuid, nodeUuid: node.uuid }),
      ],
    );
  }
  for (let i = 0; produced < total; i++) {
    const uuid = instances[i % instances.length]!;
    yield* job({ type: 'OP_INSTANCE_SET_PARAMS', instanceName: `inst${i % instances.length}`, tags: [`t${i}`] }, [
      event('InstanceModified', { instanceUuid: uuid, tags: [`t${i}`] }),
    ]);
  }
}

export interface StoredRow {
  position: number;
  id: string;
  stream: string;
  revision: number;
  type: string;
  data: string;
  metadata: string;
}

/** The workload as the rows a store would hold, for bulk loading outside the measured part. */
export function* storedRows(total: number): Generator<StoredRow> {
  const revisions = new Map<string, number>();
  let position = 0;
  for (const batch of workload(total)) {
    for (const e of batch.events) {
      const revision = (revisions.get(batch.stream) ?? -1) + 1;
      revisions.set(batch.stream, revision);
      position += 1;
      yield { position, id: e.id, stream: batch.stream, revision, type: e.type, data: JSON.stringify(e.data), metadata: JSON.stringify(e.metadata) };
    }
  }
}

/** The same rows with their chain link, as a store of format 2 holds them. */
export function* chainedRows(total: number): Generator<StoredRow & { prevHash: string; hash: string }> {
  let prevHash = GENESIS_HASH;
  for (const row of storedRows(total)) {
    const hash = chainHash(row, prevHash);
    yield { ...row, prevHash, hash };
    prevHash = hash;
  }
}
