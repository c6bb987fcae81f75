import { type ClusterState, findGroup, findNode, instancesOnNode } from '../cluster-state.js';
import { alreadyExists, inUse, invalidArgument, notFound } from '../errors.js';
import type { OpcodeOf } from '../opcodes.js';
import { type DecideContext, type Decision, ok, refuse } from './shared.js';

export const decideNodeAdd = (state: ClusterState, op: OpcodeOf<'OP_NODE_ADD'>, ctx: DecideContext): Decision => {
  if (findNode(state, op.nodeName)) return refuse(alreadyExists('node', op.nodeName));
  const group = findGroup(state, op.groupName);
  if (!group) return refuse(notFound('node group', op.groupName));
  if (op.memoryMib === undefined || op.cpus === undefined) {
    return refuse(invalidArgument(`node add: a node without an address needs --memory and --cpus (a node with --address reports its own)`));
  }
  return ok({
    type: 'NodeAdded',
    data: {
      nodeUuid: ctx.newUuid(),
      nodeName: op.nodeName,
      groupUuid: group.uuid,
      memoryMib: op.memoryMib,
      cpus: op.cpus,
      diskMib: op.diskMib,
      ...(op.address && { address: op.address }),
      ...(op.reported && { reported: op.reported }),
    },
  });
};

export const decideNodeSetParams = (state: ClusterState, op: OpcodeOf<'OP_NODE_SET_PARAMS'>): Decision => {
  const node = findNode(state, op.nodeName);
  if (!node) return refuse(notFound('node', op.nodeName));
  if (op.offline === undefined && op.drained === undefined && op.vmCapable === undefined) {
    return refuse(invalidArgument('node modify: nothing to change; give --offline, --drained or --vm-capable'));
  }
  if (op.offline === true && op.drained === true) {
    return refuse(invalidArgument('node modify: a node is either offline or drained, not both'));
  }
  // Offline with instances on it is allowed, as in Ganeti: it is how an operator says a
  // node is dead, so that its instances show ERROR_nodeoffline and failover
  // --ignore-consistency (or node evacuate) brings them up elsewhere without waiting on it.
  const changes = {
    ...(op.offline !== undefined && { offline: op.offline }),
    ...(op.drained !== undefined && { drained: op.drained }),
    ...(op.vmCapable !== undefined && { vmCapable: op.vmCapable }),
    // Ganeti's node roles are exclusive: going offline ends draining and vice versa.
    ...(op.offline === true && node.drained && { drained: false }),
    ...(op.drained === true && node.offline && { offline: false }),
  };
  return ok({ type: 'NodeModified', data: { nodeUuid: node.uuid, ...changes } });
};

export const decideNodeRemove = (state: ClusterState, op: OpcodeOf<'OP_NODE_REMOVE'>): Decision => {
  const node = findNode(state, op.nodeName);
  if (!node) return refuse(notFound('node', op.nodeName));
  const hosted = instancesOnNode(state, node.uuid).map((i) => i.name);
  if (hosted.length > 0) return refuse(inUse(`node '${node.name}' still hosts instances: ${hosted.join(', ')}`));
  return ok({ type: 'NodeRemoved', data: { nodeUuid: node.uuid, nodeName: node.name } });
};
