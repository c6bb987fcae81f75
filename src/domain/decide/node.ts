import { type ClusterState, findGroup, findNode, instancesOnNode } from '../cluster-state.js';
import { alreadyExists, inUse, invalidArgument, notFound, wrongState } from '../errors.js';
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
  if (op.offline === undefined && op.drained === undefined && op.vmCapable === undefined && op.oobProgram === undefined && op.powered === undefined) {
    return refuse(invalidArgument('node modify: nothing to change; give --offline, --drained, --vm-capable, --node-parameters or --node-powered'));
  }
  if (op.offline === true && op.drained === true) {
    return refuse(invalidArgument('node modify: a node is either offline or drained, not both'));
  }
  if (op.powered === false && !node.address) return refuse(wrongState(`node '${node.name}' is a local node, on this engine's host: it is never powered off`));
  if (op.powered === false && !(op.offline ?? node.offline)) {
    return refuse(wrongState(`node '${node.name}' is not offline; a node powered off is offline (give --offline yes with --node-powered no)`));
  }
  // Ganeti's rule: a node powered off is brought back by powering it on (or, when its
  // program cannot, by the operator saying it is on: --node-powered yes).
  if (node.powered === false && op.powered !== true && (op.offline === false || op.drained === true)) {
    return refuse(wrongState(`node '${node.name}' is powered off; power it on first ('opl node power on ${node.name}'), or say it is on with --node-powered yes`));
  }
  // Offline with instances on it is allowed, as in Ganeti: it is how an operator says a
  // node is dead, so that its instances show ERROR_nodeoffline and failover
  // --ignore-consistency (or node evacuate) brings them up elsewhere without waiting on it.
  const changes = {
    ...(op.offline !== undefined && { offline: op.offline }),
    ...(op.drained !== undefined && { drained: op.drained }),
    ...(op.vmCapable !== undefined && { vmCapable: op.vmCapable }),
    ...(op.oobProgram !== undefined && { oobProgram: op.oobProgram }),
    ...(op.powered !== undefined && { powered: op.powered }),
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
  const owes = [...state.owedUndos.values()].filter((u) => u.nodeUuid === node.uuid).length;
  if (owes > 0) return refuse(inUse(`node '${node.name}' owes ${owes} undo(s) of failed jobs: 'opl node repair ${node.name}' does them, or --give-up drops them`));
  return ok({ type: 'NodeRemoved', data: { nodeUuid: node.uuid, nodeName: node.name } });
};

/**
 * The undos a node owes: done on it now, or given up with it. Doing them needs the node
 * back (not offline); giving up is what an operator does with a node that is gone, and
 * the job records exactly which undos were dropped.
 */
export const decideNodeRepair = (state: ClusterState, op: OpcodeOf<'OP_NODE_REPAIR'>): Decision => {
  const node = findNode(state, op.nodeName);
  if (!node) return refuse(notFound('node', op.nodeName));
  const owed = [...state.owedUndos.values()].filter((u) => u.nodeUuid === node.uuid);
  if (owed.length === 0) return ok();
  if (op.giveUp) return ok({ type: 'OwedUndosSettled', data: { nodeUuid: node.uuid, ids: owed.map((u) => u.id), how: 'dropped' } });
  if (node.offline) {
    return refuse(invalidArgument(`node '${node.name}' is marked offline: mark it online once it answers ('opl node modify ${node.name} --offline no'), or drop the ${owed.length} undo(s) it owes with --give-up`));
  }
  // An undo made stale since (the guest runs there again, a disk of the same name is an
  // instance's again) would destroy what is now configured: it is dropped, not done.
  const stale = owed.filter((u) => !safeToUndo(state, node.uuid, u.effect));
  const safe = owed.filter((u) => !stale.includes(u));
  return ok(
    ...(safe.length > 0 ? [{ type: 'OwedUndosSettled' as const, data: { nodeUuid: node.uuid, ids: safe.map((u) => u.id), how: 'done' as const } }] : []),
    ...(stale.length > 0 ? [{ type: 'OwedUndosSettled' as const, data: { nodeUuid: node.uuid, ids: stale.map((u) => u.id), how: 'dropped' as const } }] : []),
  );
};

/** Whether an owed undo touches nothing the configuration holds now. */
const safeToUndo = (state: ClusterState, nodeUuid: string, effect: Record<string, unknown>): boolean => {
  const instances = [...state.instances.values()];
  if (effect.kind === 'hypervisor') {
    // A migration's source let run again on its primary is what the instance needs; the resume itself checks the destination.
    if (effect.action === 'resume') return true;
    const uuid = (effect.instance as { uuid?: unknown } | undefined)?.uuid;
    const name = (effect.instance as { name?: unknown } | undefined)?.name;
    return !instances.some((i) => (i.uuid === uuid || i.name === name) && i.primaryNodeUuid === nodeUuid);
  }
  const target = effect.target as { template?: unknown; disk?: { logicalId?: unknown } } | undefined;
  const logicalId = target?.disk?.logicalId;
  return !instances.some((i) => i.diskTemplate === target?.template && i.disks.some((d) => d.logicalId === logicalId) && (i.diskTemplate !== 'file' || i.primaryNodeUuid === nodeUuid));
};
