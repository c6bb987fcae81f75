import { findInstance, type ClusterState } from './cluster-state.js';
import type { Opcode } from './opcodes.js';

/** Ganeti's lock levels, outermost first. */
export type LockLevel = 'cluster' | 'group' | 'node' | 'instance';
export interface LockRequest {
  level: LockLevel;
  name: string;
  mode: 'shared' | 'exclusive';
}
export const lockKey = (r: Pick<LockRequest, 'level' | 'name'>): string => `${r.level}/${r.name}`;

const shared = (level: LockLevel, name: string): LockRequest => ({ level, name, mode: 'shared' });
const exclusive = (level: LockLevel, name: string): LockRequest => ({ level, name, mode: 'exclusive' });

/**
 * What an opcode touches. Everything shares the cluster lock except cluster-wide
 * changes. Capacity is not guarded by node locks: placements are appended with the
 * expected revision of the state they were decided on, so two allocations on one
 * node cannot both succeed against stale free memory.
 */
export const locksFor = (state: ClusterState, opcode: Opcode): LockRequest[] => {
  const bgl = shared('cluster', 'cluster');
  const instanceLocks = (name: string): LockRequest[] => {
    const instance = findInstance(state, name);
    const node = instance && state.nodes.get(instance.primaryNodeUuid);
    return [bgl, ...(node ? [shared('node', node.name)] : []), exclusive('instance', name)];
  };
  switch (opcode.type) {
    case 'OP_CLUSTER_INIT':
    case 'OP_CLUSTER_SET_PARAMS':
      return [exclusive('cluster', 'cluster')];
    case 'OP_GROUP_ADD':
    case 'OP_GROUP_REMOVE':
    case 'OP_GROUP_SET_PARAMS':
      return [bgl, exclusive('group', opcode.groupName)];
    case 'OP_GROUP_RENAME':
      return [bgl, exclusive('group', opcode.groupName), exclusive('group', opcode.newName)];
    case 'OP_NODE_ADD':
      return [bgl, shared('group', opcode.groupName), exclusive('node', opcode.nodeName)];
    case 'OP_NODE_SET_PARAMS':
    case 'OP_NODE_REMOVE':
      return [bgl, exclusive('node', opcode.nodeName)];
    case 'OP_INSTANCE_CREATE':
      return [bgl, ...(opcode.primaryNode ? [shared('node', opcode.primaryNode)] : []), exclusive('instance', opcode.instanceName)];
    case 'OP_INSTANCE_REMOVE':
    case 'OP_INSTANCE_STARTUP':
    case 'OP_INSTANCE_SHUTDOWN':
    case 'OP_INSTANCE_SET_PARAMS':
    case 'OP_INSTANCE_GROW_DISK':
    case 'OP_INSTANCE_ACTIVATE_DISKS':
    case 'OP_INSTANCE_DEACTIVATE_DISKS':
      return instanceLocks(opcode.instanceName);
    case 'OP_INSTANCE_MIGRATE':
    case 'OP_INSTANCE_FAILOVER':
      return [...instanceLocks(opcode.instanceName), ...(opcode.targetNode ? [shared('node', opcode.targetNode)] : [])];
    case 'OP_INSTANCE_RENAME':
      return [...instanceLocks(opcode.instanceName), exclusive('instance', opcode.newName)];
    case 'OP_TEST_DELAY':
      return [bgl, ...opcode.lockInstances.map((name) => exclusive('instance', name))];
  }
};
