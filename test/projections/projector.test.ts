import { randomUUID } from 'node:crypto';
import { filter, firstValueFrom } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { createMemoryEventStore } from '../../src/adapters/stores/memory.js';
import type { EventStore } from '../../src/domain/ports/event-store.js';
import { allViews } from '../../src/projections/read-models.js';
import { LogGapError, createProjector, replayUntil } from '../../src/projections/projector.js';
import { createSqliteEventStore } from '../../src/adapters/stores/sqlite.js';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const at = (minute: number) => `2026-11-24T10:${String(minute).padStart(2, '0')}:00.000Z`;
const append = (store: EventStore, stream: string, type: string, data: unknown, minute: number, jobId?: number) =>
  store.append(stream, [{ id: randomUUID(), type, data, metadata: { actor: 'alice', recordedAt: at(minute), ...(jobId && { jobId, opIndex: 0 }) } }], 'any');

const history = async (store: EventStore) => {
  await append(store, 'job-queue', 'JobSubmitted', { opcodes: [{ type: 'OP_CLUSTER_INIT', clusterName: 'c' }], priority: 0, dependsOn: [], actor: 'alice', submittedAt: at(0) }, 0);
  await append(store, 'cluster', 'ClusterInitialized', { clusterName: 'c', clusterUuid: 'cu', enabledDiskTemplates: ['diskless'], vcpuRatio: 4 }, 1, 1);
  await append(store, 'job-1', 'JobFinished', { jobId: 1, status: 'success' }, 2, 1);
  await append(store, 'cluster', 'GroupAdded', { groupUuid: 'g', groupName: 'g1' }, 3);
  await append(store, 'cluster', 'NodeAdded', { nodeUuid: 'n', nodeName: 'n1', groupUuid: 'g', memoryMib: 1000, cpus: 2, diskMib: 0 }, 4);
  await append(store, 'cluster', 'InstanceAdded', { instanceUuid: 'i', instanceName: 'i1', diskTemplate: 'diskless', primaryNodeUuid: 'n', secondaryNodeUuids: [], memoryMib: 300, vcpus: 1, hypervisor: 'fake', tags: [] }, 5);
  await append(store, 'cluster', 'InstanceModified', { instanceUuid: 'i', memoryMib: 400 }, 6);
  await append(store, 'cluster', 'InstanceRemoved', { instanceUuid: 'i', instanceName: 'i1' }, 7);
};

describe('projections', () => {
  it('views kept live by subscription equal a fresh replay of the log', async () => {
    const store = createMemoryEventStore();
    const projector = createProjector(store);
    const caughtUp = firstValueFrom(projector.live().pipe(filter((e) => e.position === 8n)));
    await history(store);
    await caughtUp;
    expect(allViews(projector.views)).toEqual(allViews(await replayUntil(store)));
    expect(projector.views.jobs.get(1)).toMatchObject({ status: 'success', endedAt: at(2) });
    expect(projector.views.openJobs.size).toBe(0);
  });

  it('emits every event after subscribing, even one a concurrent catch-up folded first', async () => {
    // A client waiting for its job checks the views on each emitted event; an event
    // folded silently would leave it waiting for one that never comes.
    const store = createMemoryEventStore();
    const projector = createProjector(store);
    await append(store, 'job-queue', 'JobSubmitted', { opcodes: [{ type: 'OP_CLUSTER_INIT', clusterName: 'c' }], priority: 0, dependsOn: [], actor: 'alice', submittedAt: at(0) }, 0);
    await projector.catchUp();
    const seen: bigint[] = [];
    const finished = firstValueFrom(projector.live().pipe(filter((e) => { seen.push(e.position); return e.type === 'JobFinished'; })));
    await append(store, 'cluster', 'ClusterInitialized', { clusterName: 'c', clusterUuid: 'cu', enabledDiskTemplates: ['diskless'], vcpuRatio: 4 }, 1, 1);
    await append(store, 'job-1', 'JobFinished', { jobId: 1, status: 'success' }, 2, 1);
    await projector.catchUp();
    expect(projector.views.jobs.get(1)?.status).toBe('success');
    await finished;
    expect(seen).toEqual([2n, 3n]);
  });

  it('derives free memory from the instances on a node, through modify and remove', async () => {
    const store = createMemoryEventStore();
    await history(store);
    const memoryFreeAt = async (position: bigint) => allViews(await replayUntil(store, { untilPosition: position })).nodes[0]!.memoryFree;
    expect(await memoryFreeAt(5n)).toBe(1000);
    expect(await memoryFreeAt(6n)).toBe(700);
    expect(await memoryFreeAt(7n)).toBe(600);
    expect(await memoryFreeAt(8n)).toBe(1000);
  });

  it('stops a replay at a position or an instant', async () => {
    const store = createMemoryEventStore();
    await history(store);
    const byPosition = allViews(await replayUntil(store, { untilPosition: 6n }));
    expect(byPosition.position).toBe(6);
    expect(byPosition.instances.map((i) => i.name)).toEqual(['i1']);
    const byTime = allViews(await replayUntil(store, { untilTime: new Date(at(4)) }));
    expect(byTime.position).toBe(5);
    expect(byTime.nodes.map((n) => n.name)).toEqual(['n1']);
    expect(byTime.instances).toEqual([]);
  });

  it('refuses a stored event whose payload does not match its schema', async () => {
    const store = createMemoryEventStore();
    await append(store, 'cluster', 'NodeAdded', { nodeUuid: 'n', nodeName: 'n1' }, 0);
    await expect(replayUntil(store)).rejects.toThrow(/malformed 'NodeAdded' event in the log/);
    const other = createMemoryEventStore();
    await append(other, 'cluster', 'SomethingElse', {}, 0);
    await expect(replayUntil(other)).rejects.toThrow(/unknown event type 'SomethingElse'/);
  });

  it('refuses to fold past a missing position, by catch-up, live feed and replay alike', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'opl-gap-'));
    try {
      const path = join(dir, 'log.sqlite');
      const writer = createSqliteEventStore(path);
      await history(writer);
      await writer.close();
      const db = new Database(path);
      db.prepare('DELETE FROM opl_events WHERE position = 4').run();
      db.close();
      const store = createSqliteEventStore(path);
      try {
        const message = /^the log has a gap: position 4 is missing \(the next event is at 5, stream cluster\); the views stop at 3\. Run 'opl audit verify'$/;
        const projector = createProjector(store);
        await expect(projector.catchUp()).rejects.toThrow(message);
        await expect(projector.catchUp()).rejects.toBeInstanceOf(LogGapError);
        expect(projector.views.position).toBe(3n);
        expect(projector.views.cluster.instances.size).toBe(0);
        await expect(firstValueFrom(createProjector(store).live())).resolves.toMatchObject({ position: 1n });
        await expect(firstValueFrom(createProjector(store).live().pipe(filter((e) => e.position > 4n)))).rejects.toThrow(message);
        await expect(replayUntil(store)).rejects.toThrow(message);
        await expect(replayUntil(store, { untilPosition: 3n })).resolves.toMatchObject({ position: 3n });
      } finally {
        await store.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
