import { describe, expect, it } from 'vitest';
import { changeGroupRequest, multiAllocateRequest, nodeEvacuateRequest } from '../../src/allocators/request.js';
import { solve } from '../../src/allocators/builtin/solve.js';
import { findGroup, findInstance } from '../../src/domain/cluster-state.js';
import { Opcode, type OpcodeOf } from '../../src/domain/opcodes.js';
import { smallCluster, stateAfter } from '../domain/fixtures.js';

/** Requests about many instances, built from the cluster state, answered by the built-in allocator. */
describe('iallocator requests for many instances', () => {
  const state = stateAfter(smallCluster());
  const create = (name: string) => Opcode.parse({ type: 'OP_INSTANCE_CREATE', instanceName: name, diskTemplate: 'diskless', memoryMib: 512, vcpus: 1 }) as OpcodeOf<'OP_INSTANCE_CREATE'>;

  it('multi-allocate: every new instance with its own domain, over the nodes of all their domains', () => {
    const request = multiAllocateRequest(state, [create('m1'), create('m2')]);
    expect(request.request.type).toBe('multi-allocate');
    expect((request.request.instances as { name: string; mobility_domain: string[] }[]).map((i) => [i.name, i.mobility_domain])).toEqual([
      ['m1', ['n1', 'n2', 'n3']],
      ['m2', ['n1', 'n2', 'n3']],
    ]);
    expect(Object.keys(request.nodes as object).sort()).toEqual(['n1', 'n2', 'n3']);
    const [placed, notPlaced] = solve(request).result as [[string, string[]][], string[]];
    expect(placed.map(([name]) => name)).toEqual(['m1', 'm2']);
    expect(notPlaced).toEqual([]);
  });

  it('node-evacuate holds the instances\' groups; change-group holds every group', () => {
    const i1 = findInstance(state, 'i1')!;
    const evacuate = nodeEvacuateRequest(state, [i1]);
    expect(evacuate.request).toEqual({ type: 'node-evacuate', instances: ['i1'], evac_mode: 'all' });
    expect(Object.keys(evacuate.nodes as object).sort()).toEqual(['n1', 'n2']);
    const g2 = findGroup(state, 'g2')!.uuid;
    const change = changeGroupRequest(state, [i1], [g2]);
    expect(change.request).toEqual({ type: 'change-group', instances: ['i1'], target_groups: [g2] });
    expect(Object.keys(change.nodes as object).sort()).toEqual(['n1', 'n2', 'n3']);
    expect((solve(change).result as [[string, string, string[]][]])[0]).toEqual([['i1', 'g2', ['n3']]]);
  });
});
