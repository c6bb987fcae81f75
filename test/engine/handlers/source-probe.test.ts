import { describe, expect, it } from 'vitest';
import type { ClusterEvent } from '../../../src/domain/events.js';
import type { NodeFactsResult, NodeReach } from '../../../src/domain/ports/node-reach.js';
import type { HandlerContext } from '../../../src/engine/handlers/handler.js';
import { sourceAnswers } from '../../../src/engine/handlers/source-probe.js';
import { fold, instanceAdded } from '../sagas/fixtures.js';

/** i1 and i2 run on n1, which has a daemon; i3 is stopped there. */
const state = (...more: ClusterEvent[]) =>
  fold(
    { type: 'ClusterInitialized', data: { clusterName: 'c1', clusterUuid: 'cluster-1', enabledDiskTemplates: ['diskless'], vcpuRatio: 4 } },
    { type: 'GroupAdded', data: { groupUuid: 'group-g1', groupName: 'g1' } },
    { type: 'NodeAdded', data: { nodeUuid: 'node-n1', nodeName: 'n1', groupUuid: 'group-g1', memoryMib: 8192, cpus: 4, diskMib: 0, address: { host: '10.0.0.1', port: 1811 } } },
    ...['i1', 'i2', 'i3'].map((name) => instanceAdded(name, 'diskless', [], 'n1')),
    ...['i1', 'i2'].map((name): ClusterEvent => ({ type: 'InstanceStarted', data: { instanceUuid: `uuid-${name}`, nodeUuid: 'node-n1' } })),
    ...more,
  );

/** A handler context whose node daemons answer `answers`, in turn; what it logs and how often n1 was asked. */
const context = (answers: NodeFactsResult[], events: ClusterEvent[] = []) => {
  const logs: string[] = [];
  let asked = 0;
  const nodes = { facts: async () => answers[Math.min(asked++, answers.length - 1)]! } as unknown as NodeReach;
  const ctx = { state: async () => state(...events), log: async (message: string, level = 'info') => void logs.push(`${level} ${message}`), nodes } as unknown as HandlerContext;
  return { ctx, logs, asked: () => asked };
};
const unreachable: NodeFactsResult = { ok: false, kind: 'unreachable', message: 'node n1 at 10.0.0.1:1811 is unreachable (EHOSTUNREACH)' };

describe("a failover's question to its source", () => {
  it('calls a source silent only when it cannot be reached twice, and names the other guests that end with it', async () => {
    const { ctx, logs, asked } = context([unreachable]);
    expect(await sourceAnswers(ctx, 'i1')).toBe(false);
    expect(asked()).toBe(2);
    expect(logs).toEqual(['warning node n1, where i1 runs, does not answer: node n1 at 10.0.0.1:1811 is unreachable (EHOSTUNREACH); it also runs i2']);
  });

  it('takes a source that answers the second time, or answers wrongly, as up: it is not fenced', async () => {
    const facts = { name: 'n1', hostname: 'h', memoryTotalMib: 1, memoryFreeMib: 1, cpus: 1, storage: [], instances: [], time: 0 };
    expect(await sourceAnswers(context([unreachable, { ok: true, facts }]).ctx, 'i1')).toBe(true);
    const wrong = context([{ ok: false, kind: 'not-this-cluster', message: "node n1's certificate is not this cluster's" }]);
    expect(await sourceAnswers(wrong.ctx, 'i1')).toBe(true);
    expect(wrong.asked()).toBe(1);
    expect(wrong.logs).toEqual([]);
  });

  it('asks nothing for a stopped instance or a source marked offline', async () => {
    const stopped = context([unreachable]);
    expect(await sourceAnswers(stopped.ctx, 'i3')).toBeUndefined();
    const offline = context([unreachable], [{ type: 'NodeModified', data: { nodeUuid: 'node-n1', offline: true } }]);
    expect(await sourceAnswers(offline.ctx, 'i1')).toBeUndefined();
    expect(stopped.asked() + offline.asked()).toBe(0);
  });
});
