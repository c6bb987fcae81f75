import { type ClusterState, findGroup, instancesUsingPool } from '../cluster-state.js';
import { alreadyExists, inUse, invalidArgument, notFound, wrongState } from '../errors.js';
import type { ClusterEvent } from '../events.js';
import type { OpcodeOf } from '../opcodes.js';
import { type DecideContext, type Decision, ok, refuse } from './shared.js';

export const decideGroupAdd = (state: ClusterState, op: OpcodeOf<'OP_GROUP_ADD'>, ctx: DecideContext): Decision => {
  if (findGroup(state, op.groupName)) return refuse(alreadyExists('node group', op.groupName));
  return ok({ type: 'GroupAdded', data: { groupUuid: ctx.newUuid(), groupName: op.groupName } });
};

export const decideGroupRename = (state: ClusterState, op: OpcodeOf<'OP_GROUP_RENAME'>): Decision => {
  const group = findGroup(state, op.groupName);
  if (!group) return refuse(notFound('node group', op.groupName));
  if (findGroup(state, op.newName)) return refuse(alreadyExists('node group', op.newName));
  return ok({ type: 'GroupRenamed', data: { groupUuid: group.uuid, oldName: group.name, newName: op.newName } });
};

export const decideGroupRemove = (state: ClusterState, op: OpcodeOf<'OP_GROUP_REMOVE'>): Decision => {
  const group = findGroup(state, op.groupName);
  if (!group) return refuse(notFound('node group', op.groupName));
  const members = [...state.nodes.values()].filter((n) => n.groupUuid === group.uuid).map((n) => n.name);
  if (members.length > 0) return refuse(inUse(`node group '${group.name}' still has nodes: ${members.join(', ')}`));
  return ok({ type: 'GroupRemoved', data: { groupUuid: group.uuid, groupName: group.name } });
};

/** Connects and disconnects storage pools: a group's pools are the mobility domain of `ext` disks. */
export const decideGroupSetParams = (state: ClusterState, op: OpcodeOf<'OP_GROUP_SET_PARAMS'>): Decision => {
  const group = findGroup(state, op.groupName);
  if (!group) return refuse(notFound('node group', op.groupName));
  if (op.connectPool === undefined && op.disconnectPool === undefined) {
    return refuse(invalidArgument('group modify: nothing to change; give --connect-pool or --disconnect-pool'));
  }
  const events: ClusterEvent[] = [];
  if (op.disconnectPool !== undefined) {
    if (!group.pools.includes(op.disconnectPool)) {
      return refuse(wrongState(`storage pool '${op.disconnectPool}' is not connected to node group '${group.name}'`));
    }
    const users = instancesUsingPool(state, op.disconnectPool, group.uuid).map((i) => i.name);
    if (users.length > 0) {
      return refuse(inUse(`instances of node group '${group.name}' still use storage pool '${op.disconnectPool}': ${users.sort().join(', ')}`));
    }
    events.push({ type: 'PoolDisconnected', data: { groupUuid: group.uuid, poolName: op.disconnectPool } });
  }
  if (op.connectPool !== undefined) {
    if (!state.pools.has(op.connectPool)) return refuse(notFound('storage pool', op.connectPool));
    if (group.pools.includes(op.connectPool)) {
      return refuse(wrongState(`storage pool '${op.connectPool}' is already connected to node group '${group.name}'`));
    }
    events.push({ type: 'PoolConnected', data: { groupUuid: group.uuid, poolName: op.connectPool } });
  }
  return ok(...events);
};
