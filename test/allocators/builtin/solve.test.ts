import { describe, expect, it } from 'vitest';
import { solve } from '../../../src/allocators/builtin/solve.js';
import { allocate, cluster } from './requests.js';

const three = cluster(
  [{ name: 'n1', memory: 16384, free: 4096 }, { name: 'n2', memory: 16384, free: 12288 }, { name: 'n3', memory: 16384, free: 8192 }],
  [{ name: 'a', node: 'n1', memory: 8192 }, { name: 'b', node: 'n1', memory: 4096 }, { name: 'c', node: 'n3', memory: 8192 }],
);

describe('built-in allocator: allocate', () => {
  it('places a new instance where the cluster ends up most balanced', () => {
    expect(solve({ ...three, request: allocate('new', 2048) })).toMatchObject({ success: true, result: ['n2'] });
  });

  it('keeps to the mobility domain when the request gives one', () => {
    expect(solve({ ...three, request: allocate('new', 2048, { mobility_domain: ['n1', 'n3'] }) })).toMatchObject({ success: true, result: ['n3'] });
  });

  it('never places on offline or drained nodes', () => {
    const request = cluster([{ name: 'n1', memory: 16384, free: 16384, offline: true }, { name: 'n2', memory: 16384, free: 16384, drained: true }, { name: 'n3', memory: 16384, free: 4096 }, { name: 'n4', memory: 16384, free: 2048 }]);
    expect(solve({ ...request, request: allocate('new', 1024) })).toMatchObject({ success: true, result: ['n3'] });
    // Alone, n3 could not be evacuated anywhere once it holds an instance.
    const alone = cluster([{ name: 'n1', memory: 16384, free: 16384, offline: true }, { name: 'n3', memory: 16384, free: 4096 }]);
    expect(solve({ ...alone, request: allocate('new', 1024) }).info).toMatch(/FailN1: 1/);
  });

  it('refuses what fits nowhere, counting the reasons as hail does', () => {
    const answer = solve({ ...three, request: allocate('new', 32768) });
    expect(answer).toMatchObject({ success: false, result: [] });
    expect(answer.info).toMatch(/FailMem: 3/);
  });

  it('refuses a placement that would leave a node impossible to evacuate (global N+1)', () => {
    // Two nodes with 3 GiB each on them and 3 GiB free: placing 1 GiB more on either
    // leaves its 4 GiB unable to move onto the other's 3 GiB.
    const pair = cluster([{ name: 'n1', memory: 6144, free: 3072 }, { name: 'n2', memory: 6144, free: 3072 }], [{ name: 'a', node: 'n1', memory: 3072 }, { name: 'b', node: 'n2', memory: 3072 }]);
    const answer = solve({ ...pair, request: allocate('new', 1024) });
    expect(answer.success).toBe(false);
    expect(answer.info).toMatch(/FailN1: 2/);
    // Without the N+1 pressure (a third, empty node) it places.
    const roomy = cluster([{ name: 'n1', memory: 6144, free: 3072 }, { name: 'n2', memory: 6144, free: 3072 }, { name: 'n3', memory: 6144, free: 6144 }], [{ name: 'a', node: 'n1', memory: 3072 }, { name: 'b', node: 'n2', memory: 3072 }]);
    expect(solve({ ...roomy, request: allocate('new', 1024) })).toMatchObject({ success: true, result: ['n3'] });
  });

  it('keeps the whole cluster redundant: a group that already is not blocks every placement, as in hail', () => {
    const request = cluster(
      [
        { name: 'a1', memory: 16384, free: 12288, group: 'ga' }, { name: 'a2', memory: 16384, free: 16384, group: 'ga' },
        // Group gb cannot empty b1 onto b2 even before anything is placed.
        { name: 'b1', memory: 16384, free: 4096, group: 'gb' }, { name: 'b2', memory: 16384, free: 8192, group: 'gb' },
      ],
      [{ name: 'x', node: 'a1', memory: 4096 }, { name: 'y', node: 'b1', memory: 12288 }, { name: 'z', node: 'b2', memory: 8192 }],
      { ga: { name: 'alpha' }, gb: { name: 'beta' } },
    );
    const answer = solve({ ...request, request: allocate('new', 1024) });
    expect(answer.success).toBe(false);
    expect(answer.info).toMatch(/group alpha: FailN1: 2; group beta: FailN1: 2/);
  });

  it('leaves a node some memory: exactly full is full, as in htools', () => {
    const two = cluster([{ name: 'n1', memory: 8192, free: 4096 }, { name: 'n2', memory: 8192, free: 8192 }]);
    expect(solve({ ...two, request: allocate('new', 4096, { mobility_domain: ['n1'] }) }).info).toMatch(/FailMem: 1/);
  });

  it('honours the vcpu ratio of the group policy', () => {
    const small = cluster([{ name: 'n1', memory: 16384, free: 16384, cpus: 1 }, { name: 'n2', memory: 16384, free: 16384, cpus: 1 }]);
    const answer = solve({ ...small, request: allocate('new', 1024, { vcpus: 5 }) });
    expect(answer.success).toBe(false);
    expect(answer.info).toMatch(/FailCPU: 2/);
  });

  it('refuses a template the instance policy does not allow, saying so', () => {
    const answer = solve({ ...three, request: allocate('new', 1024, { disk_template: 'blockdev' }) });
    expect(answer).toMatchObject({ success: false });
    expect(answer.info).toMatch(/disk template blockdev is not allowed in group default/);
  });

  it('refuses an instance outside the instance policy\'s sizes, and a two-node template', () => {
    const bounded = { ...three, ipolicy: { ...three.ipolicy, minmax: [{ min: { 'memory-size': 128, 'cpu-count': 1 }, max: { 'memory-size': 8192, 'cpu-count': 4 } }] } };
    expect(solve({ ...bounded, request: allocate('fat', 1024, { vcpus: 8 }) }).info).toMatch(/instance fat \(1024 MiB, 8 vcpus, 1 disks\) is outside the instance policy of group default/);
    expect(solve({ ...bounded, request: allocate('fits', 1024, { vcpus: 4 }) }).success).toBe(true);
    expect(solve({ ...three, request: allocate('pair', 1024, { disk_template: 'drbd', required_nodes: 2 }) }).info).toMatch(/only single-node placement is supported \(shared storage\); 2 nodes were asked for/);
  });

  it('prefers a preferred group over a last-resort one, whatever the score', () => {
    const request = cluster(
      [{ name: 'p1', memory: 16384, free: 8192, group: 'gp' }, { name: 'p2', memory: 16384, free: 16384, group: 'gp' }, { name: 'l1', memory: 16384, free: 16384, group: 'gl' }, { name: 'l2', memory: 16384, free: 16384, group: 'gl' }],
      [{ name: 'a', node: 'p1', memory: 8192 }],
      { gp: { name: 'pref' }, gl: { name: 'last', alloc_policy: 'last_resort' } },
    );
    expect(solve({ ...request, request: allocate('new', 1024) })).toMatchObject({ success: true, result: ['p2'] });
  });

  it('answers a request it cannot read with success false and where it is wrong', () => {
    const answer = solve({ nodes: {}, request: { type: 'allocate', name: 'x' } });
    expect(answer.success).toBe(false);
    expect(answer.info).toMatch(/^not a Ganeti iallocator request: request\.memory/);
    expect(solve({ request: { type: 'teleport' } }).info).toMatch(/request\.type/);
  });
});

describe('built-in allocator: moves', () => {
  it('relocates an instance off its node to the best other node of its group', () => {
    expect(solve({ ...three, request: { type: 'relocate', name: 'a', relocate_from: ['n1'], required_nodes: 1 } })).toMatchObject({ success: true, result: ['n2'] });
  });

  it('refuses to relocate an instance the request does not hold', () => {
    expect(solve({ ...three, request: { type: 'relocate', name: 'ghost', relocate_from: ['n1'] } })).toMatchObject({ success: false, info: 'instance ghost is not in the request' });
  });

  it('refuses to relocate an instance whose disks are on its node', () => {
    const local = cluster([{ name: 'n1', memory: 8192, free: 4096 }, { name: 'n2', memory: 8192, free: 8192 }], [{ name: 'p', node: 'n1', memory: 4096, template: 'plain' }]);
    expect(solve({ ...local, request: { type: 'relocate', name: 'p', relocate_from: ['n1'] } }).info).toMatch(/disk template plain, which cannot move/);
  });

  it('evacuates a node: every instance moved off it, none onto another evacuee, with a job each', () => {
    const answer = solve({ ...three, request: { type: 'node-evacuate', instances: ['a', 'b'], evac_mode: 'all' } });
    expect(answer.success).toBe(true);
    const [moved, failed, jobs] = answer.result as [[string, string, string[]][], unknown[], { OP_ID: string; target_node: string }[][]];
    expect(failed).toEqual([]);
    expect(moved.map(([name]) => name)).toEqual(['a', 'b']);
    expect(moved.every(([, , nodes]) => nodes[0] !== 'n1')).toBe(true);
    expect(jobs.map((j) => j[0]!.OP_ID)).toEqual(['OP_INSTANCE_MIGRATE', 'OP_INSTANCE_MIGRATE']);
  });

  it('changes the group of instances, into the named group', () => {
    const two = cluster(
      [{ name: 'a1', memory: 8192, free: 4096, group: 'ga' }, { name: 'b1', memory: 8192, free: 8192, group: 'gb' }, { name: 'b2', memory: 8192, free: 6144, group: 'gb' }],
      [{ name: 'x', node: 'a1', memory: 4096 }],
      { ga: { name: 'alpha' }, gb: { name: 'beta' } },
    );
    const answer = solve({ ...two, request: { type: 'change-group', instances: ['x'], target_groups: ['gb'] } });
    expect((answer.result as [[string, string, string[]][]])[0]).toEqual([['x', 'beta', ['b1']]]);
  });

  it('multi-allocates one after another, each placement seeing the ones before', () => {
    const answer = solve({
      ...cluster([{ name: 'n1', memory: 8192, free: 8192 }, { name: 'n2', memory: 8192, free: 8192 }, { name: 'n3', memory: 8192, free: 8192 }]),
      request: { type: 'multi-allocate', instances: [allocate('i1', 2048), allocate('i2', 2048), allocate('i3', 2048), allocate('huge', 65536)] },
    });
    const [placed, notPlaced] = answer.result as [[string, string[]][], string[]];
    expect(new Set(placed.map(([, [node]]) => node))).toEqual(new Set(['n1', 'n2', 'n3']));
    expect(notPlaced).toEqual(['huge']);
  });
});
