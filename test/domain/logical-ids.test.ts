import { describe, expect, it } from 'vitest';
import { evolveCluster } from '../../src/domain/cluster-evolve.js';
import { emptyClusterState } from '../../src/domain/cluster-state.js';
import type { ClusterEvent } from '../../src/domain/events.js';
import { logicalIdOwner, logicalIdProblem } from '../../src/domain/logical-ids.js';
import { clusterInitialized, groupAdded, instanceAdded, nodeAdded, poolAdded, poolConnected } from './decide/history.js';

const ext = (pool: string, ...ids: string[]) => ({
  diskTemplate: 'ext' as const,
  disks: ids.map((logicalId, index) => ({ index, sizeMib: 10, logicalId, pool, params: {}, adopted: false })),
});

const stateOf = (...events: ClusterEvent[]) => {
  const state = emptyClusterState();
  for (const e of events) evolveCluster(state, e, state.revision + 1n);
  return state;
};

describe('logicalIdProblem', () => {
  it.each(['vol-1', 'Vol_1.2:3+4', 'a', '0', '_x', ':x', '+x', 'x'.repeat(128), 'e1.disk0', 'b4c1e1aa-7f67-4cf0-9b7e-0a3f.ext.disk0'])('accepts %j', (id) =>
    expect(logicalIdProblem(id)).toBeUndefined());

  it.each([
    ['', /not letters/],
    ['../../etc/passwd', /no '\/'/],
    ['/abs', /no '\/'/],
    ['.', /not starting with '.'/],
    ['..', /not starting with '.'/],
    ['-rf', /not starting with '.' or '-'/],
    ['a b', /not letters/],
    ['a\tb', /not letters/],
    ['a;rm', /not letters/],
    ['$(x)', /not letters/],
    ['é', /not letters/],
    ['x'.repeat(129), /129 characters long, more than 128/],
  ])('refuses %j', (id, why) => expect(logicalIdProblem(id)).toMatch(why));
});

describe('logicalIdOwner', () => {
  const state = stateOf(
    clusterInitialized(),
    groupAdded('g1'),
    nodeAdded('n1', 'g1'),
    poolAdded('p1'),
    poolAdded('p2'),
    poolConnected('g1', 'p1'),
    poolConnected('g1', 'p2'),
    instanceAdded('a', 'n1', ext('p1', 'v0', 'v1')),
  );
  const newDisk = { instanceUuid: 'instance-new', diskIndex: 0 };

  it("names the configured disk that holds an id in the pool; another pool's same id is no conflict", () => {
    expect(logicalIdOwner(state, [], 'p1', 'v1', newDisk)?.description).toBe('disk 1 of instance a');
    expect(logicalIdOwner(state, [], 'p2', 'v1', newDisk)).toBeUndefined();
    expect(logicalIdOwner(state, [], 'p1', 'v9', newDisk)).toBeUndefined();
  });

  it('names a disk a saga under way made, and never the disk asking (a retried call gets its own id back)', () => {
    const pending = [{ pool: 'p1', logicalId: 'v9', instanceUuid: 'instance-b', diskIndex: 0, jobId: 7 }];
    expect(logicalIdOwner(state, pending, 'p1', 'v9', newDisk)?.description).toBe('disk 0 being made by job 7');
    expect(logicalIdOwner(state, pending, 'p1', 'v9', { instanceUuid: 'instance-b', diskIndex: 0 })).toBeUndefined();
    expect(logicalIdOwner(state, [], 'p1', 'v1', { instanceUuid: 'instance-a', diskIndex: 1 })).toBeUndefined();
    expect(logicalIdOwner(state, [], 'p1', 'v1', { instanceUuid: 'instance-a', diskIndex: 0 })?.description).toBe('disk 1 of instance a');
  });
});

describe('pools and their drivers', () => {
  it('keep where the driver was found, and take a new place from PoolModified; older events fold without it', () => {
    const state = stateOf(
      clusterInitialized(),
      poolAdded('old'),
      { type: 'PoolAdded', data: { poolName: 'new', driver: 'd', params: {}, timeoutSeconds: 300, driverDir: '/opt/d' } },
      { type: 'PoolModified', data: { poolName: 'new', driverDir: '/srv/d', timeoutSeconds: 5 } },
      { type: 'PoolModified', data: { poolName: 'old', timeoutSeconds: 7 } },
    );
    expect(state.pools.get('old')).toEqual({ name: 'old', driver: 'drv', params: {}, timeoutSeconds: 7 });
    expect(state.pools.get('new')).toEqual({ name: 'new', driver: 'd', params: {}, timeoutSeconds: 5, driverDir: '/srv/d' });
  });
});
