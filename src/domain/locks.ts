import { findInstance, type ClusterState } from './cluster-state.js';

/** Ganeti's lock levels, outermost first. */
export type LockLevel = 'cluster' | 'group' | 'node' | 'instance';
export interface LockRequest {
  level: LockLevel;
  name: string;
  mode: 'shared' | 'exclusive';
}
export const lockKey = (r: Pick<LockRequest, 'level' | 'name'>): string => `${r.level}/${r.name}`;

export const shared = (level: LockLevel, name: string): LockRequest => ({ level, name, mode: 'shared' });
export const exclusive = (level: LockLevel, name: string): LockRequest => ({ level, name, mode: 'exclusive' });

/** Ganeti's Big Ganeti Lock, shared by everything but cluster-wide changes. */
export const BGL = shared('cluster', 'cluster');

/**
 * An instance, exclusively, and its primary node, shared. Capacity is not guarded by
 * node locks: decisions are appended at the revision they were made on, and a saga
 * holds what it needs in the log until it ends.
 */
export const instanceLocks = (state: ClusterState, name: string): LockRequest[] => {
  const instance = findInstance(state, name);
  const node = instance && state.nodes.get(instance.primaryNodeUuid);
  return [BGL, ...(node ? [shared('node', node.name)] : []), exclusive('instance', name)];
};
