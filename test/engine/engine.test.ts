import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFakeHypervisor } from '../../src/adapters/hypervisors/fake.js';
import { createMemoryEventStore } from '../../src/adapters/stores/memory.js';
import { Opcode } from '../../src/domain/opcodes.js';
import type { EventStore, NewEvent } from '../../src/domain/ports/event-store.js';
import { createControlPlane, type ControlPlane } from '../../src/engine/control-plane.js';
import type { DiskStorage } from '../../src/domain/ports/disk-storage.js';
import { LEADER_LEASE } from '../../src/engine/leadership.js';
import { MAX_ATTEMPTS } from '../../src/engine/engine.js';
import { smallCluster } from '../domain/fixtures.js';

const plane = (store: EventStore = createMemoryEventStore()) => {
  const nodesDir = mkdtempSync(join(tmpdir(), 'opl-nodes-'));
  return { plane: createControlPlane({ store, hypervisor: createFakeHypervisor(nodesDir), actor: 'tester' }), nodesDir, store };
};
const ops = (...raw: unknown[]) => raw.map((r) => Opcode.parse(r));
const run = async (p: ControlPlane, ...raw: unknown[]) => p.awaitJob(await p.submit(ops(...raw)));
const delay = (seconds: number, lockInstances: string[] = [], fail = false) => ({ type: 'OP_TEST_DELAY', durationSeconds: seconds, lockInstances, fail });
const clusterEvents = async (store: EventStore) => {
  const out: string[] = [];
  for await (const e of store.readStream('cluster')) out.push(e.type);
  return out;
};

describe('job engine', () => {
  it('runs a multi-opcode job in order and runs the fake hypervisor', async () => {
    const { plane: p, nodesDir } = plane();
    const job = await run(p, ...smallCluster());
    expect(job.status).toBe('success');
    expect(job.opcodes.map((o) => o.status)).toEqual(Array(7).fill('success'));
    expect(readdirSync(join(nodesDir, 'n1', 'fake-hv'))).toEqual(['i1.json']);
    expect(p.projector.views.cluster.instances.size).toBe(1);
    await p.close();
  });

  it('records a refused opcode as refused, skips the rest, and writes no domain event', async () => {
    const { plane: p, store } = plane();
    await run(p, ...smallCluster());
    const before = await clusterEvents(store);
    const job = await run(p, { type: 'OP_GROUP_ADD', groupName: 'g3' }, { type: 'OP_NODE_ADD', nodeName: 'n1', groupName: 'g1', memoryMib: 1, cpus: 1 }, { type: 'OP_GROUP_ADD', groupName: 'g4' });
    expect(job.status).toBe('error');
    expect(job.opcodes.map((o) => o.status)).toEqual(['success', 'error', 'error']);
    expect(job.opcodes[1]!.error).toMatchObject({ kind: 'application', code: 'already_exists' });
    expect(await clusterEvents(store)).toEqual([...before, 'GroupAdded']);
    await p.close();
  });

  it('never runs two jobs on one instance at once, but runs jobs on different instances together', async () => {
    const { plane: p, store } = plane();
    await run(p, ...smallCluster(), { type: 'OP_INSTANCE_CREATE', instanceName: 'i2', diskTemplate: 'diskless', memoryMib: 1, vcpus: 1, primaryNode: 'n2' });
    const ids = [await p.submit(ops(delay(0.4, ['i1']))), await p.submit(ops(delay(0.4, ['i1']))), await p.submit(ops(delay(0.4, ['i2'])))];
    const jobs = await Promise.all(ids.map((id) => p.awaitJob(id)));
    const span = (i: number) => [Date.parse(jobs[i]!.opcodes[0]!.startedAt!), Date.parse(jobs[i]!.opcodes[0]!.endedAt!)] as const;
    const overlap = (a: readonly [number, number], b: readonly [number, number]) => a[0] < b[1] && b[0] < a[1];
    expect(jobs.map((j) => j.status)).toEqual(['success', 'success', 'success']);
    expect(overlap(span(0), span(1))).toBe(false);
    expect(overlap(span(0), span(2)) || overlap(span(1), span(2))).toBe(true);
    const waited: unknown[] = [];
    for (const id of ids.slice(0, 2)) {
      for await (const e of store.readStream(`job-${id}`)) if (e.type === 'OpcodeWaiting') waited.push(e.data);
    }
    expect(waited).toEqual([expect.objectContaining({ blockedBy: ['instance/i1'] })]);
    await p.close();
  });

  it('runs higher-priority jobs first', async () => {
    const { plane: p } = plane();
    await run(p, ...smallCluster());
    const blocker = await p.submit(ops(delay(0.3, ['i1'])));
    const low = await p.submit(ops(delay(0, ['i1'])), { priority: 10 });
    const high = await p.submit(ops(delay(0, ['i1'])), { priority: -10 });
    await Promise.all([blocker, low, high].map((id) => p.awaitJob(id)));
    const started = (id: number) => Date.parse(p.projector.views.jobs.get(id)!.opcodes[0]!.endedAt!);
    expect(started(high)).toBeLessThanOrEqual(started(low));
    await p.close();
  });

  it('holds a job until its dependency succeeds, and fails it if the dependency failed', async () => {
    const { plane: p } = plane();
    await run(p, ...smallCluster());
    const first = await p.submit(ops(delay(0.3)));
    const after = await p.submit(ops({ type: 'OP_GROUP_ADD', groupName: 'later' }), { dependsOn: [first] });
    const failing = await p.submit(ops(delay(0, [], true)));
    const doomed = await p.submit(ops({ type: 'OP_GROUP_ADD', groupName: 'never' }), { dependsOn: [failing] });
    const [a, b, , d] = await Promise.all([first, after, failing, doomed].map((id) => p.awaitJob(id)));
    expect(Date.parse(b!.opcodes[0]!.startedAt!)).toBeGreaterThanOrEqual(Date.parse(a!.endedAt!));
    expect(b!.status).toBe('success');
    expect(d!.status).toBe('error');
    expect(d!.opcodes[0]!.error).toMatchObject({ code: 'dependency_failed' });
    expect(p.projector.views.cluster.groupByName.has('never')).toBe(false);
    await p.close();
  });

  it('cancels a queued job and a running one', async () => {
    const { plane: p } = plane();
    await run(p, ...smallCluster());
    const running = await p.submit(ops(delay(30), { type: 'OP_GROUP_ADD', groupName: 'x' }));
    const queued = await p.submit(ops({ type: 'OP_GROUP_ADD', groupName: 'y' }), { dependsOn: [running] });
    const watching = p.awaitJob(running);
    await new Promise((r) => setTimeout(r, 300));
    await p.cancel(queued);
    await p.cancel(running);
    const [r, q] = await Promise.all([watching, p.awaitJob(queued)]);
    expect(r.status).toBe('canceled');
    expect(r.opcodes.map((o) => o.status)).toEqual(['canceled', 'canceled']);
    expect(q.status).toBe('canceled');
    expect(p.projector.views.cluster.groupByName.has('x')).toBe(false);
    await p.close();
  });

  it('finishes the job a dead engine left running: resumes it, or marks it done if its effect was recorded', async () => {
    const store = createMemoryEventStore();
    const meta = (jobId?: number, opIndex?: number) => ({ actor: 'ghost', recordedAt: new Date().toISOString(), engineId: 'dead-engine', ...(jobId && { jobId }), ...(opIndex !== undefined && { opIndex }) });
    const submit = (opcodes: unknown[]): NewEvent => ({ id: crypto.randomUUID(), type: 'JobSubmitted', data: { opcodes: ops(...opcodes), priority: 0, dependsOn: [], actor: 'ghost', submittedAt: new Date().toISOString() }, metadata: meta() });
    const started = (jobId: number, attempt = 1): NewEvent => ({ id: crypto.randomUUID(), type: 'OpcodeStarted', data: { jobId, opIndex: 0, attempt }, metadata: meta(jobId, 0) });
    // Job 1 died after recording its effect; job 2 died before recording any; job 3
    // has already been lost as often as the engine allows.
    await store.append('job-queue', [submit([{ type: 'OP_CLUSTER_INIT', clusterName: 'c' }])], 'any');
    await store.append('job-1', [started(1)], 'any');
    await store.append('cluster', [{ id: crypto.randomUUID(), type: 'ClusterInitialized', data: { clusterName: 'c', clusterUuid: 'cu', enabledDiskTemplates: ['diskless'], vcpuRatio: 4 }, metadata: meta(1, 0) }], 'no_stream');
    await store.append('job-queue', [submit([{ type: 'OP_GROUP_ADD', groupName: 'g' }])], 'any');
    await store.append('job-2', [started(2)], 'any');
    await store.append('job-queue', [submit([delay(0)])], 'any');
    await store.append('job-3', [started(3, MAX_ATTEMPTS)], 'any');
    await store.leases.tryAcquire(LEADER_LEASE, { holder: 'dead-engine', pid: 999_999_999, host: 'elsewhere', expiresAt: Date.now() - 1 }, () => true);
    const { plane: p } = plane(store);
    const [first, second, third] = await Promise.all([1, 2, 3].map((id) => p.awaitJob(id)));
    expect(first!.status).toBe('success');
    expect(first!.opcodes[0]!.result).toEqual({ recovered: true });
    expect(second!.status).toBe('success');
    expect(second!.opcodes[0]!.attempts).toBe(2);
    expect(second!.opcodes[0]!.log.map((l) => l.message)).toContainEqual(expect.stringContaining('was lost; retrying'));
    expect(third!.status).toBe('error');
    expect(third!.opcodes[0]!.error).toMatchObject({ kind: 'engine_lost' });
    expect(await clusterEvents(store)).toEqual(['ClusterInitialized', 'GroupAdded']);
    await p.close();
  });

  it('fails, without running it, an opcode whose stored form does not pass its schema', async () => {
    const store = createMemoryEventStore();
    const { plane: p } = plane(store);
    await run(p, ...smallCluster());
    const before = await clusterEvents(store);
    const tampered: NewEvent = {
      id: crypto.randomUUID(),
      type: 'JobSubmitted',
      data: { opcodes: [{ type: 'OP_GROUP_ADD', groupName: '../etc' }], priority: 0, dependsOn: [], actor: 'mallory', submittedAt: new Date().toISOString() },
      metadata: { actor: 'mallory', recordedAt: new Date().toISOString() },
    };
    const { nextRevision } = await store.append('job-queue', [tampered], 'any');
    const job = await p.awaitJob(Number(nextRevision) + 1);
    expect(job.status).toBe('error');
    expect(job.opcodes[0]!.error).toMatchObject({ code: 'malformed_opcode', message: expect.stringContaining('groupName') });
    expect(await clusterEvents(store)).toEqual(before);
    await p.close();
  });

  it('removes a disk a lost engine had created but never recorded, then runs the opcode again', async () => {
    const store = createMemoryEventStore();
    const calls: string[] = [];
    const storage: DiskStorage = {
      create: async (t) => (calls.push(`create ${t.disk.index}`), { logicalId: `vol-${calls.length}` }),
      grow: async (_t, size) => ({ sizeMib: size }),
      remove: async (t) => void calls.push(`remove ${t.disk.logicalId}`),
      rename: async (t) => ({ logicalId: t.disk.logicalId }),
      attach: async (t) => ({ device: t.disk.logicalId }),
      detach: async () => undefined,
    };
    const nodesDir = mkdtempSync(join(tmpdir(), 'opl-nodes-'));
    const p = createControlPlane({ store, hypervisor: createFakeHypervisor(nodesDir), storage: { ext: storage }, actor: 'tester' });
    await run(p, ...smallCluster(), { type: 'OP_CLUSTER_SET_PARAMS', addPool: { poolName: 'p', driver: 'd' } }, { type: 'OP_GROUP_SET_PARAMS', groupName: 'g1', connectPool: 'p' });
    const meta = (opIndex?: number) => ({ actor: 'ghost', recordedAt: new Date().toISOString(), engineId: 'dead', jobId: 2, ...(opIndex !== undefined && { opIndex }) });
    const create = Opcode.parse({ type: 'OP_INSTANCE_CREATE', instanceName: 'e1', diskTemplate: 'ext', memoryMib: 1, vcpus: 1, primaryNode: 'n1', start: false, disks: [{ sizeMib: 5, pool: 'p' }] });
    await store.append('job-queue', [{ id: crypto.randomUUID(), type: 'JobSubmitted', data: { opcodes: [create], priority: 0, dependsOn: [], actor: 'ghost', submittedAt: new Date().toISOString() }, metadata: meta() }], 'any');
    await store.append('job-2', [
      { id: crypto.randomUUID(), type: 'OpcodeStarted', data: { jobId: 2, opIndex: 0, attempt: 1 }, metadata: meta(0) },
      { id: crypto.randomUUID(), type: 'StorageDriverCalled', data: { jobId: 2, opIndex: 0, pool: 'p', driver: 'd', action: 'create', node: 'n1', instance: 'e1', instanceUuid: 'u', diskIndex: 0, exitCode: 0, durationMs: 3, outcome: 'ok', logicalId: 'leaked-vol' }, metadata: meta(0) },
    ], 'any');
    const job = await p.awaitJob(2);
    expect(job.status).toBe('success');
    expect(calls).toEqual(['remove leaked-vol', 'create 0']);
    expect(job.opcodes[0]!.log.map((l) => l.message)).toContainEqual(expect.stringContaining('created by the lost engine but never recorded: leaked-vol'));
    expect(p.projector.views.cluster.instances.size).toBe(2);
    await p.close();
  });

  it('undoes a saga an engine was lost in too often: the call under way is asked for, then taken back, and what it held is given back', async () => {
    const store = createMemoryEventStore();
    const { plane: first, nodesDir } = plane(store);
    await run(first, ...smallCluster());
    await first.close().catch(() => undefined);
    const n1 = first.projector.views.cluster.nodeByName.get('n1')!;
    const meta = (opIndex?: number) => ({ actor: 'ghost', recordedAt: new Date().toISOString(), engineId: 'dead', jobId: 2, ...(opIndex !== undefined && { opIndex }) });
    const create = Opcode.parse({ type: 'OP_INSTANCE_CREATE', instanceName: 'i9', diskTemplate: 'diskless', memoryMib: 2048, vcpus: 1, primaryNode: 'n1' });
    const decided = [
      { type: 'InstanceAdded', data: { instanceUuid: 'u9', instanceName: 'i9', diskTemplate: 'diskless', primaryNodeUuid: n1, secondaryNodeUuids: [], memoryMib: 2048, vcpus: 1, hypervisor: 'fake', tags: [], disks: [] } },
      { type: 'InstanceStarted', data: { instanceUuid: 'u9', nodeUuid: n1 } },
    ];
    await store.append('job-queue', [{ id: crypto.randomUUID(), type: 'JobSubmitted', data: { opcodes: [create], priority: 0, dependsOn: [], actor: 'ghost', submittedAt: new Date().toISOString() }, metadata: meta() }], 'any');
    await store.append('job-2', [{ id: crypto.randomUUID(), type: 'OpcodeStarted', data: { jobId: 2, opIndex: 0, attempt: MAX_ATTEMPTS }, metadata: meta(0) }], 'any');
    await store.append('cluster', [{ id: crypto.randomUUID(), type: 'SagaBegun', data: { sagaId: 'job-2/op-0', jobId: 2, opIndex: 0, events: decided }, metadata: meta(0) }], 'any');
    await store.append('job-2', [{ id: crypto.randomUUID(), type: 'SagaStepIntended', data: { jobId: 2, opIndex: 0, step: 1, undo: false, callId: 'lost-call', what: 'starting instance i9 on node n1', effect: {} }, metadata: meta(0) }], 'any');
    // The successor's hypervisor is the same node directory: what it starts and stops is seen there.
    const p = createControlPlane({ store, hypervisor: createFakeHypervisor(nodesDir), actor: 'tester' });
    const job = await p.awaitJob(2);
    expect(job.status).toBe('error');
    expect(job.opcodes[0]!.error).toMatchObject({ kind: 'engine_lost', code: 'engine_lost' });
    expect(job.opcodes[0]!.saga?.ended).toBe('undone');
    expect(job.opcodes[0]!.saga?.steps.map((s) => [s.step, s.undo, s.callId === 'lost-call', s.outcome !== undefined])).toEqual([[1, false, true, true], [1, true, false, true]]);
    const cluster = p.projector.views.cluster;
    expect(cluster.instanceByName.has('i9')).toBe(false);
    expect(cluster.sagas.size).toBe(0);
    expect(cluster.usage.get(n1)?.memoryMib).toBe(1024);
    expect(readdirSync(join(nodesDir, 'n1', 'fake-hv'))).toEqual(['i1.json']);
    await p.close();
  });

  it('gives the lease back once many concurrent waiters in one process are done', async () => {
    const store = createMemoryEventStore();
    const { plane: p } = plane(store);
    await run(p, ...smallCluster());
    const ids = await Promise.all(Array.from({ length: 12 }, (_, i) => p.submit(ops({ type: 'OP_INSTANCE_SET_PARAMS', instanceName: 'i1', tags: [`t${i}`] }))));
    const jobs = await Promise.all(ids.map((id) => p.awaitJob(id)));
    expect(jobs.every((j) => j.status === 'success')).toBe(true);
    expect(await store.leases.current(LEADER_LEASE)).toBeNull();
    await p.close();
  });

  it('leaves a live leader alone: a second plane waits while the first leads', async () => {
    const store = createMemoryEventStore();
    const a = plane(store).plane;
    const b = plane(store).plane;
    await run(a, ...smallCluster());
    const long = await a.submit(ops(delay(0.5)));
    const leading = a.awaitJob(long);
    await new Promise((r) => setTimeout(r, 100));
    expect((await store.leases.current(LEADER_LEASE))?.holder).toBeDefined();
    const quick = await b.submit(ops({ type: 'OP_GROUP_ADD', groupName: 'from-b' }));
    const [, done] = await Promise.all([leading, b.awaitJob(quick)]);
    expect(done.status).toBe('success');
    expect(await store.leases.current(LEADER_LEASE)).toBeNull();
  });
});
