import { describe, expect, it } from 'vitest';
import { verifyDisks, type StorageSurvey } from '../../src/domain/verify-disks.js';
import { stateAfter } from './fixtures.js';

const state = () =>
  stateAfter([
    { type: 'OP_CLUSTER_INIT', clusterName: 'c1', sharedFileStorageDir: '/srv/shared' },
    { type: 'OP_GROUP_ADD', groupName: 'g1' },
    { type: 'OP_GROUP_ADD', groupName: 'g2' },
    { type: 'OP_NODE_ADD', nodeName: 'n1', groupName: 'g1', memoryMib: 4096, cpus: 2 },
    { type: 'OP_NODE_ADD', nodeName: 'n2', groupName: 'g1', memoryMib: 4096, cpus: 2 },
    { type: 'OP_NODE_ADD', nodeName: 'n3', groupName: 'g2', memoryMib: 4096, cpus: 2 },
    { type: 'OP_INSTANCE_CREATE', instanceName: 'f1', diskTemplate: 'file', memoryMib: 128, vcpus: 1, primaryNode: 'n1', disks: [{ sizeMib: 8 }] },
    { type: 'OP_INSTANCE_CREATE', instanceName: 's1', diskTemplate: 'sharedfile', memoryMib: 128, vcpus: 1, primaryNode: 'n1', disks: [{ sizeMib: 8 }, { sizeMib: 8 }] },
  ]);

const asRecorded = (): Map<string, StorageSurvey> =>
  new Map([
    ['n1', { fileDisks: ['f1/disk0'], sharedDisks: ['/srv/shared/s1/disk0', '/srv/shared/s1/disk1'] }],
    ['n2', { fileDisks: [], sharedDisks: ['/srv/shared/s1/disk0', '/srv/shared/s1/disk1'] }],
    ['n3', { fileDisks: [], sharedDisks: ['/srv/shared/s1/disk0', '/srv/shared/s1/disk1'] }],
  ]);

describe('cluster verify: disks as the nodes hold them against the configuration', () => {
  it('finds nothing when every node holds what it should', () => {
    expect(state().instances.size).toBe(2);
    expect(verifyDisks(state(), asRecorded())).toEqual([]);
  });

  it('names a file disk missing on its primary and one that no instance of the node has', () => {
    const surveys = asRecorded();
    surveys.set('n1', { ...surveys.get('n1')!, fileDisks: ['ghost/disk0'] });
    surveys.set('n2', { ...surveys.get('n2')!, fileDisks: ['f1/disk0'] });
    expect(verifyDisks(state(), surveys)).toEqual([
      { node: 'n1', problem: 'disk 0 of instance f1 (file f1/disk0) is missing' },
      { node: 'n1', problem: 'holds file disk ghost/disk0, which no instance on it has' },
      { node: 'n2', problem: 'holds file disk f1/disk0, which no instance on it has' },
    ]);
  });

  it("names a sharedfile disk a node of its group does not see, not one of another group, and a stray once", () => {
    const surveys = asRecorded();
    surveys.set('n2', { fileDisks: [], sharedDisks: ['/srv/shared/s1/disk0', '/srv/shared/old/disk0'] });
    surveys.set('n3', { fileDisks: [], sharedDisks: ['/srv/shared/old/disk0'] });
    expect(verifyDisks(state(), surveys)).toEqual([
      { node: 'n2', problem: 'does not see disk 1 of instance s1 (sharedfile /srv/shared/s1/disk1)' },
      { node: 'n2', problem: 'sees sharedfile disk /srv/shared/old/disk0 in the shared directory, which no instance has' },
    ]);
  });

  it("reports why a node could not look at the shared directory, and leaves out nodes that were not asked", () => {
    const surveys = asRecorded();
    surveys.set('n2', { fileDisks: [], sharedProblem: 'shared file storage directory /srv/shared is missing' });
    surveys.delete('n1');
    expect(verifyDisks(state(), surveys)).toEqual([{ node: 'n2', problem: 'shared file storage directory /srv/shared is missing' }]);
  });
});
