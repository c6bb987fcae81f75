import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { decideCluster } from '../../src/domain/cluster-decide.js';
import { freeMemoryMib, findNode } from '../../src/domain/cluster-state.js';
import { Opcode } from '../../src/domain/opcodes.js';
import { sequentialUuids, smallCluster, stateAfter } from './fixtures.js';

const decide = (raw: unknown, setup = smallCluster()) => decideCluster(stateAfter(setup), Opcode.parse(raw), sequentialUuids());
const refusal = (raw: unknown, setup?: unknown[]) => {
  const d = decide(raw, setup);
  if (E.isRight(d)) throw new Error(`expected a refusal, got ${JSON.stringify(d.right)}`);
  return { code: d.left.code, message: d.left.message };
};
const eventTypes = (raw: unknown, setup?: unknown[]) => {
  const d = decide(raw, setup);
  if (E.isLeft(d)) throw new Error(`unexpected refusal: ${d.left.message}`);
  return d.right.map((e) => e.type);
};

describe('cluster decider: refusals', () => {
  it.each([
    ['anything before init', { type: 'OP_GROUP_ADD', groupName: 'g' }, [], 'wrong_state', /not initialised/],
    ['a second init', { type: 'OP_CLUSTER_INIT', clusterName: 'x' }, undefined, 'wrong_state', /already initialised as 'c1'/],
    ['a duplicate group', { type: 'OP_GROUP_ADD', groupName: 'g1' }, undefined, 'already_exists', /node group 'g1' already exists/],
    ['renaming onto an existing group', { type: 'OP_GROUP_RENAME', groupName: 'g1', newName: 'g2' }, undefined, 'already_exists', /'g2'/],
    ['removing a group with nodes', { type: 'OP_GROUP_REMOVE', groupName: 'g1' }, undefined, 'in_use', /still has nodes: n1, n2/],
    ['a node in a missing group', { type: 'OP_NODE_ADD', nodeName: 'n9', groupName: 'nope', memoryMib: 1, cpus: 1 }, undefined, 'not_found', /node group 'nope'/],
    ['a duplicate node', { type: 'OP_NODE_ADD', nodeName: 'n1', groupName: 'g1', memoryMib: 1, cpus: 1 }, undefined, 'already_exists', /node 'n1'/],
    ['removing a node that hosts instances', { type: 'OP_NODE_REMOVE', nodeName: 'n1' }, undefined, 'in_use', /still hosts instances: i1/],
    ['offlining a node with a running instance', { type: 'OP_NODE_SET_PARAMS', nodeName: 'n1', offline: true }, undefined, 'wrong_state', /still runs instance 'i1'/],
    ['a node modify with no change', { type: 'OP_NODE_SET_PARAMS', nodeName: 'n1' }, undefined, 'invalid_argument', /nothing to change/],
    ['a duplicate instance', { type: 'OP_INSTANCE_CREATE', instanceName: 'i1', diskTemplate: 'diskless', memoryMib: 1, vcpus: 1, primaryNode: 'n2' }, undefined, 'already_exists', /instance 'i1'/],
    ['an instance on a missing node', { type: 'OP_INSTANCE_CREATE', instanceName: 'i9', diskTemplate: 'diskless', memoryMib: 1, vcpus: 1, primaryNode: 'n9' }, undefined, 'not_found', /node 'n9'/],
    ['an instance bigger than free memory', { type: 'OP_INSTANCE_CREATE', instanceName: 'i9', diskTemplate: 'diskless', memoryMib: 3073, vcpus: 1, primaryNode: 'n1' }, undefined, 'insufficient_resources', /3072 MiB of memory free, 3073 MiB needed/],
    ['more vcpus than the ratio allows', { type: 'OP_INSTANCE_CREATE', instanceName: 'i9', diskTemplate: 'diskless', memoryMib: 1, vcpus: 7, primaryNode: 'n1' }, undefined, 'insufficient_resources', /limit of 8/],
    ['a template that is not enabled', { type: 'OP_INSTANCE_CREATE', instanceName: 'i9', diskTemplate: 'file', memoryMib: 1, vcpus: 1, primaryNode: 'n1', disks: [{ sizeMib: 1 }] }, [{ type: 'OP_CLUSTER_INIT', clusterName: 'c1', enabledDiskTemplates: ['diskless'] }, ...smallCluster().slice(1)], 'invalid_argument', /'file' is not enabled on this cluster \(enabled: diskless\)/],
    ['a memory increase beyond the node', { type: 'OP_INSTANCE_SET_PARAMS', instanceName: 'i1', memoryMib: 5000 }, undefined, 'insufficient_resources', /3072 MiB of memory free/],
    ['modifying a missing instance', { type: 'OP_INSTANCE_SET_PARAMS', instanceName: 'zz', tags: [] }, undefined, 'not_found', /instance 'zz'/],
    ['disabling a template still in use', { type: 'OP_CLUSTER_SET_PARAMS', enabledDiskTemplates: ['plain'] }, undefined, 'in_use', /'diskless' is still used by instance 'i1'/],
  ])('refuses %s', (_name, raw, setup, code, message) => {
    const r = refusal(raw, setup as unknown[] | undefined);
    expect(r.code).toBe(code);
    expect(r.message).toMatch(message);
  });

  it.each([
    ['offline', { type: 'OP_NODE_SET_PARAMS', nodeName: 'n2', offline: true }],
    ['drained', { type: 'OP_NODE_SET_PARAMS', nodeName: 'n2', drained: true }],
    ['not vm-capable', { type: 'OP_NODE_SET_PARAMS', nodeName: 'n2', vmCapable: false }],
  ])('refuses to place an instance on a node that is %s', (flag, modify) => {
    const r = refusal(
      { type: 'OP_INSTANCE_CREATE', instanceName: 'i9', diskTemplate: 'diskless', memoryMib: 1, vcpus: 1, primaryNode: 'n2' },
      [...smallCluster(), modify],
    );
    expect(r.code).toBe('wrong_state');
    expect(r.message).toContain(flag);
  });

  it('refuses to provision templates this engine does not provision yet, saying so', () => {
    const setup = smallCluster();
    for (const template of ['drbd', 'plain']) {
      const r = refusal({ type: 'OP_INSTANCE_CREATE', instanceName: 'i9', diskTemplate: template, memoryMib: 1, vcpus: 1, primaryNode: 'n2' }, setup);
      expect(r).toEqual({ code: 'not_supported', message: `this engine does not provision '${template}' disks (it provisions diskless, file, sharedfile, blockdev, ext)` });
    }
  });
});

describe('cluster decider: decisions', () => {
  it('creates and starts an instance in one decision, reserving its memory', () => {
    expect(eventTypes({ type: 'OP_INSTANCE_CREATE', instanceName: 'i2', diskTemplate: 'diskless', memoryMib: 3072, vcpus: 1, primaryNode: 'n1' })).toEqual([
      'InstanceAdded',
      'InstanceStarted',
    ]);
    const state = stateAfter([...smallCluster(), { type: 'OP_INSTANCE_CREATE', instanceName: 'i2', diskTemplate: 'diskless', memoryMib: 3072, vcpus: 1, primaryNode: 'n1', start: false }]);
    expect(freeMemoryMib(state, findNode(state, 'n1')!)).toBe(0);
    expect(state.instances.size).toBe(2);
  });

  it('stops a running instance before removing it, and frees its memory', () => {
    expect(eventTypes({ type: 'OP_INSTANCE_REMOVE', instanceName: 'i1' })).toEqual(['InstanceStopped', 'InstanceRemoved']);
    const state = stateAfter([...smallCluster(), { type: 'OP_INSTANCE_REMOVE', instanceName: 'i1' }]);
    expect(freeMemoryMib(state, findNode(state, 'n1')!)).toBe(4096);
  });

  it('treats starting a running instance and stopping a stopped one as nothing to do', () => {
    expect(eventTypes({ type: 'OP_INSTANCE_STARTUP', instanceName: 'i1' })).toEqual([]);
    expect(eventTypes({ type: 'OP_INSTANCE_SHUTDOWN', instanceName: 'i1' }, [...smallCluster(), { type: 'OP_INSTANCE_SHUTDOWN', instanceName: 'i1' }])).toEqual([]);
  });

  it('ends draining when a node goes offline (Ganeti roles are exclusive)', () => {
    const d = decide({ type: 'OP_NODE_SET_PARAMS', nodeName: 'n2', offline: true }, [...smallCluster(), { type: 'OP_NODE_SET_PARAMS', nodeName: 'n2', drained: true }]);
    expect(E.isRight(d) && d.right[0]!.data).toMatchObject({ offline: true, drained: false });
  });

  it('renames a group so its nodes follow', () => {
    const state = stateAfter([...smallCluster(), { type: 'OP_GROUP_RENAME', groupName: 'g1', newName: 'rack1' }]);
    expect(state.groups.get(findNode(state, 'n1')!.groupUuid)!.name).toBe('rack1');
    expect(state.groupByName.has('g1')).toBe(false);
  });

  it('counts every configuration change in the serial number', () => {
    expect(stateAfter(smallCluster()).serial).toBe(8);
  });
});

describe('decide: migrate --cleanup, from what the engine observed', () => {
  const cleanup = (observed?: { runningOn: string[]; attachedOn: string[] }) => {
    const ctx = sequentialUuids();
    const state = stateAfter(smallCluster(), ctx);
    const op = Opcode.parse({ type: 'OP_INSTANCE_MIGRATE', instanceName: 'i1', cleanup: true });
    return { state, decision: decideCluster(state, op, { ...ctx, ...(observed && { observed }) }) };
  };
  const nodeUuid = (state: ReturnType<typeof stateAfter>, name: string) => [...state.nodes.values()].find((n) => n.name === name)!.uuid;

  it('records a move the hypervisors made but the log never saw', () => {
    const { state, decision } = cleanup({ runningOn: ['n2'], attachedOn: [] });
    expect(decision).toEqual(E.right([expect.objectContaining({ type: 'InstanceMoved', data: expect.objectContaining({ fromNodeUuid: nodeUuid(state, 'n1'), toNodeUuid: nodeUuid(state, 'n2') }) })]));
  });

  it('lets go of whatever runs or is attached away from the primary', () => {
    const { state, decision } = cleanup({ runningOn: ['n1', 'n2'], attachedOn: ['n1', 'n3'] });
    expect(decision).toEqual(E.right([{ type: 'InstanceCleanedUp', data: { instanceUuid: expect.any(String), nodeUuids: [nodeUuid(state, 'n2'), nodeUuid(state, 'n3')] } }]));
  });

  it('has nothing to do for a healthy instance, and refuses without an observation', () => {
    expect(cleanup({ runningOn: ['n1'], attachedOn: ['n1'] }).decision).toEqual(E.right([]));
    const blind = cleanup().decision;
    expect(E.isLeft(blind) && blind.left.message).toMatch(/needs the engine to look at the nodes first/);
  });
});
