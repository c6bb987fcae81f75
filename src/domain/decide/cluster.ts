import { type ClusterState, findInstance, instancesUsingPool } from '../cluster-state.js';
import { alreadyExists, inUse, invalidArgument, notFound, wrongState } from '../errors.js';
import type { ClusterEvent } from '../events.js';
import type { OpcodeOf } from '../opcodes.js';
import { type DecideContext, type Decision, ok, refuse } from './shared.js';

export const decideClusterInit = (state: ClusterState, op: OpcodeOf<'OP_CLUSTER_INIT'>, ctx: DecideContext): Decision => {
  if (state.params) return refuse(wrongState(`the cluster is already initialised as '${state.params.name}'`));
  return ok({
    type: 'ClusterInitialized',
    data: {
      clusterName: op.clusterName,
      clusterUuid: ctx.newUuid(),
      enabledDiskTemplates: op.enabledDiskTemplates,
      vcpuRatio: op.vcpuRatio,
      enabledHypervisors: op.enabledHypervisors,
      ...(op.sharedFileStorageDir !== undefined && { sharedFileStorageDir: op.sharedFileStorageDir }),
      blockdevPrefixes: op.blockdevPrefixes,
      iallocatorTimeoutSeconds: op.iallocatorTimeoutSeconds,
      defaultIallocator: op.defaultIallocator,
      ...(op.oobProgram && { oobProgram: op.oobProgram }),
    },
  });
};

export const decideClusterSetParams = (state: ClusterState, op: OpcodeOf<'OP_CLUSTER_SET_PARAMS'>): Decision => {
  const { type: _type, addPool, removePool, modifyPool, ...params } = op;
  const changes = Object.fromEntries(Object.entries(params).filter(([, v]) => v !== undefined)) as typeof params;
  if (Object.keys(changes).length === 0 && !addPool && !removePool && !modifyPool) {
    return refuse(invalidArgument('cluster modify: nothing to change; give at least one parameter'));
  }
  if (op.enabledDiskTemplates) {
    const enabled = new Set(op.enabledDiskTemplates);
    const user = [...state.instances.values()].find((i) => !enabled.has(i.diskTemplate));
    if (user) return refuse(inUse(`disk template '${user.diskTemplate}' is still used by instance '${user.name}'`));
  }
  if (op.enabledHypervisors) {
    const enabled = new Set(op.enabledHypervisors);
    const user = [...state.instances.values()].sort((a, b) => a.name.localeCompare(b.name)).find((i) => !enabled.has(i.hypervisor));
    if (user) return refuse(inUse(`hypervisor '${user.hypervisor}' is still used by instance '${user.name}'`));
  }
  const events: ClusterEvent[] = [];
  if (Object.keys(changes).length > 0) events.push({ type: 'ClusterModified', data: changes });
  if (removePool !== undefined) {
    if (!state.pools.has(removePool)) return refuse(notFound('storage pool', removePool));
    const users = instancesUsingPool(state, removePool).map((i) => i.name);
    if (users.length > 0) return refuse(inUse(`storage pool '${removePool}' is used by instances: ${users.sort().join(', ')}`));
    events.push({ type: 'PoolRemoved', data: { poolName: removePool } });
  }
  if (addPool) {
    if (state.pools.has(addPool.poolName) && addPool.poolName !== removePool) {
      return refuse(alreadyExists('storage pool', addPool.poolName));
    }
    const { poolName, driver, params: poolParams, timeoutSeconds, driverDir } = addPool;
    events.push({ type: 'PoolAdded', data: { poolName, driver, params: poolParams, timeoutSeconds, ...(driverDir !== undefined && { driverDir }) } });
  }
  if (modifyPool) {
    const pool = state.pools.get(modifyPool.poolName);
    if (!pool || modifyPool.poolName === removePool) return refuse(notFound('storage pool', modifyPool.poolName));
    const { poolName, driverDir, timeoutSeconds } = modifyPool;
    events.push({ type: 'PoolModified', data: { poolName, ...(driverDir !== undefined && { driverDir }), ...(timeoutSeconds !== undefined && { timeoutSeconds }) } });
  }
  return ok(...events);
};

/**
 * Ganeti's `gnt-cluster destroy`: only an empty cluster (no nodes, hence no instances)
 * is destroyed; its configuration is gone afterwards and `cluster init` may start
 * anew. The log keeps everything for auditors.
 */
export const decideClusterDestroy = (state: ClusterState, op: OpcodeOf<'OP_CLUSTER_DESTROY'>): Decision => {
  const params = state.params!;
  if (op.clusterName !== params.name) return refuse(invalidArgument(`cluster destroy: this cluster is '${params.name}', not '${op.clusterName}'`));
  const nodes = [...state.nodes.values()].map((n) => n.name).sort();
  if (nodes.length > 0) return refuse(inUse(`cluster '${params.name}' still has nodes: ${nodes.join(', ')}; remove them first`));
  return ok({ type: 'ClusterDestroyed', data: { clusterName: params.name, clusterUuid: params.uuid } });
};

/** Ganeti's OP_TEST_DELAY changes nothing; it only needs the instances it locks to exist. */
export const decideTestDelay = (state: ClusterState, op: OpcodeOf<'OP_TEST_DELAY'>): Decision => {
  const missing = op.lockInstances.find((name) => !findInstance(state, name));
  return missing === undefined ? ok() : refuse(notFound('instance', missing));
};
