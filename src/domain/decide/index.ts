import type { ClusterState } from '../cluster-state.js';
import { wrongState } from '../errors.js';
import { BGL, exclusive, instanceLocks, shared, type LockRequest } from '../locks.js';
import type { Opcode, OpcodeOf, OpcodeType } from '../opcodes.js';
import { decideClusterDestroy, decideClusterInit, decideClusterSetParams, decideTestDelay } from './cluster.js';
import { decideGroupAdd, decideGroupRemove, decideGroupRename, decideGroupSetParams } from './group.js';
import { decideInstanceCreate, decideInstanceRemove, decideInstanceRename, decideInstanceSetParams, decideInstanceShutdown, decideInstanceReboot, decideInstanceStartup } from './instance.js';
import { decideInstanceActivateDisks, decideInstanceDeactivateDisks, decideInstanceGrowDisk } from './instance-disks.js';
import { decideInstanceFailover, decideInstanceMigrate } from './instance-move.js';
import { decideNodeAdd, decideNodeRemove, decideNodeRepair, decideNodeSetParams } from './node.js';
import { decideOobCommand } from './node-power.js';
import { type DecideContext, type Decision, refuse } from './shared.js';

export type { CleanupObservation, DecideContext, Decision } from './shared.js';
export { placementProblem } from './shared.js';
export { diskLogicalId } from './instance-disks.js';

export type Decider<T extends OpcodeType> = (state: ClusterState, op: OpcodeOf<T>, ctx: DecideContext) => Decision;

/**
 * Ganeti's LogicalUnit, its pure half: the locks an opcode declares and its decision.
 * (The engine adds what looks at the world — an allocator's answer, what the nodes
 * run — in src/engine/handlers/.)
 */
export interface LogicalUnit<T extends OpcodeType> {
  locks(state: ClusterState, op: OpcodeOf<T>): LockRequest[];
  decide: Decider<T>;
}

/** Every opcode but OP_CLUSTER_INIT is refused with this until the cluster exists. */
export const notInitialised = () => wrongState("the cluster is not initialised; run 'opl cluster init NAME' first");

/** A decider that refuses, as every opcode but OP_CLUSTER_INIT must, until the cluster exists. */
export const inCluster =
  <T extends OpcodeType>(decide: Decider<T>): Decider<T> =>
  (state, op, ctx) =>
    state.params ? decide(state, op, ctx) : refuse(notInitialised());

const onInstance = (state: ClusterState, op: { instanceName: string }) => instanceLocks(state, op.instanceName);
const onInstanceAndTarget = (state: ClusterState, op: { instanceName: string; targetNode?: string | undefined }) => [
  ...onInstance(state, op),
  ...(op.targetNode ? [shared('node', op.targetNode)] : []),
];

/**
 * One logical unit per opcode type; an opcode type without one does not compile.
 * Adding a configuration-only opcode is its schema (opcodes.ts), its decider (the
 * object's file here) and its row below.
 */
export const logicalUnits: { readonly [T in OpcodeType]: LogicalUnit<T> } = {
  OP_CLUSTER_INIT: { locks: () => [exclusive('cluster', 'cluster')], decide: decideClusterInit },
  OP_CLUSTER_SET_PARAMS: { locks: () => [exclusive('cluster', 'cluster')], decide: inCluster(decideClusterSetParams) },
  OP_CLUSTER_DESTROY: { locks: () => [exclusive('cluster', 'cluster')], decide: inCluster(decideClusterDestroy) },
  OP_GROUP_ADD: { locks: (_s, op) => [BGL, exclusive('group', op.groupName)], decide: inCluster(decideGroupAdd) },
  OP_GROUP_RENAME: { locks: (_s, op) => [BGL, exclusive('group', op.groupName), exclusive('group', op.newName)], decide: inCluster(decideGroupRename) },
  OP_GROUP_REMOVE: { locks: (_s, op) => [BGL, exclusive('group', op.groupName)], decide: inCluster(decideGroupRemove) },
  OP_GROUP_SET_PARAMS: { locks: (_s, op) => [BGL, exclusive('group', op.groupName)], decide: inCluster(decideGroupSetParams) },
  OP_NODE_ADD: { locks: (_s, op) => [BGL, shared('group', op.groupName), exclusive('node', op.nodeName)], decide: inCluster(decideNodeAdd) },
  OP_NODE_SET_PARAMS: { locks: (_s, op) => [BGL, exclusive('node', op.nodeName)], decide: inCluster(decideNodeSetParams) },
  OP_NODE_REMOVE: { locks: (_s, op) => [BGL, exclusive('node', op.nodeName)], decide: inCluster(decideNodeRemove) },
  OP_NODE_REPAIR: { locks: (_s, op) => [BGL, exclusive('node', op.nodeName)], decide: inCluster(decideNodeRepair) },
  OP_OOB_COMMAND: { locks: (_s, op) => [BGL, ...op.nodeNames.map((name) => exclusive('node', name))], decide: inCluster(decideOobCommand) },
  OP_INSTANCE_CREATE: { locks: (_s, op) => [BGL, ...(op.primaryNode ? [shared('node', op.primaryNode)] : []), exclusive('instance', op.instanceName)], decide: inCluster(decideInstanceCreate) },
  OP_INSTANCE_REMOVE: { locks: onInstance, decide: inCluster(decideInstanceRemove) },
  OP_INSTANCE_STARTUP: { locks: onInstance, decide: inCluster(decideInstanceStartup) },
  OP_INSTANCE_SHUTDOWN: { locks: onInstance, decide: inCluster(decideInstanceShutdown) },
  OP_INSTANCE_REBOOT: { locks: onInstance, decide: inCluster(decideInstanceReboot) },
  OP_INSTANCE_SET_PARAMS: { locks: onInstance, decide: inCluster(decideInstanceSetParams) },
  OP_INSTANCE_GROW_DISK: { locks: onInstance, decide: inCluster(decideInstanceGrowDisk) },
  OP_INSTANCE_RENAME: { locks: (s, op) => [...onInstance(s, op), exclusive('instance', op.newName)], decide: inCluster(decideInstanceRename) },
  OP_INSTANCE_ACTIVATE_DISKS: { locks: onInstance, decide: inCluster(decideInstanceActivateDisks) },
  OP_INSTANCE_DEACTIVATE_DISKS: { locks: onInstance, decide: inCluster(decideInstanceDeactivateDisks) },
  OP_INSTANCE_MIGRATE: { locks: onInstanceAndTarget, decide: inCluster(decideInstanceMigrate) },
  OP_INSTANCE_FAILOVER: { locks: onInstanceAndTarget, decide: inCluster(decideInstanceFailover) },
  OP_TEST_DELAY: { locks: (_s, op) => [BGL, ...op.lockInstances.map((name) => exclusive('instance', name))], decide: inCluster(decideTestDelay) },
};

/**
 * Decides what an opcode does to the cluster configuration: the events to record, or
 * why it is refused. Pure; the engine runs any side effects the events imply. The
 * refusal before the cluster exists comes with each unit (`inCluster`), as the engine
 * uses them too.
 */
export const decideCluster = (state: ClusterState, opcode: Opcode, ctx: DecideContext): Decision => {
  // The table pairs each type with its decider; TypeScript cannot follow that through a union.
  const decide = logicalUnits[opcode.type].decide as Decider<OpcodeType>;
  return decide(state, opcode, ctx);
};
