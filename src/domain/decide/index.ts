import type { ClusterState } from '../cluster-state.js';
import { wrongState } from '../errors.js';
import type { Opcode, OpcodeOf, OpcodeType } from '../opcodes.js';
import { decideClusterInit, decideClusterSetParams, decideTestDelay } from './cluster.js';
import { decideGroupAdd, decideGroupRemove, decideGroupRename, decideGroupSetParams } from './group.js';
import { decideInstanceCreate, decideInstanceRemove, decideInstanceRename, decideInstanceSetParams, decideInstanceShutdown, decideInstanceStartup } from './instance.js';
import { decideInstanceActivateDisks, decideInstanceDeactivateDisks, decideInstanceGrowDisk } from './instance-disks.js';
import { decideInstanceFailover, decideInstanceMigrate } from './instance-move.js';
import { decideNodeAdd, decideNodeRemove, decideNodeSetParams } from './node.js';
import { type DecideContext, type Decision, refuse } from './shared.js';

export type { CleanupObservation, DecideContext, Decision } from './shared.js';
export { placementProblem } from './shared.js';
export { diskLogicalId } from './instance-disks.js';

export type Decider<T extends OpcodeType> = (state: ClusterState, op: OpcodeOf<T>, ctx: DecideContext) => Decision;

/** One pure decider per opcode type; an opcode type without one does not compile. */
export const deciders: { readonly [T in OpcodeType]: Decider<T> } = {
  OP_CLUSTER_INIT: decideClusterInit,
  OP_CLUSTER_SET_PARAMS: decideClusterSetParams,
  OP_GROUP_ADD: decideGroupAdd,
  OP_GROUP_RENAME: decideGroupRename,
  OP_GROUP_REMOVE: decideGroupRemove,
  OP_GROUP_SET_PARAMS: decideGroupSetParams,
  OP_NODE_ADD: decideNodeAdd,
  OP_NODE_SET_PARAMS: decideNodeSetParams,
  OP_NODE_REMOVE: decideNodeRemove,
  OP_INSTANCE_CREATE: decideInstanceCreate,
  OP_INSTANCE_REMOVE: decideInstanceRemove,
  OP_INSTANCE_STARTUP: decideInstanceStartup,
  OP_INSTANCE_SHUTDOWN: decideInstanceShutdown,
  OP_INSTANCE_SET_PARAMS: decideInstanceSetParams,
  OP_INSTANCE_GROW_DISK: decideInstanceGrowDisk,
  OP_INSTANCE_RENAME: decideInstanceRename,
  OP_INSTANCE_ACTIVATE_DISKS: decideInstanceActivateDisks,
  OP_INSTANCE_DEACTIVATE_DISKS: decideInstanceDeactivateDisks,
  OP_INSTANCE_MIGRATE: decideInstanceMigrate,
  OP_INSTANCE_FAILOVER: decideInstanceFailover,
  OP_TEST_DELAY: decideTestDelay,
};

/**
 * Decides what an opcode does to the cluster configuration: the events to record, or
 * why it is refused. Pure; the engine runs any side effects the events imply. Nothing
 * but OP_CLUSTER_INIT is decided before the cluster exists, so no decider has to ask.
 */
export const decideCluster = (state: ClusterState, opcode: Opcode, ctx: DecideContext): Decision => {
  if (opcode.type !== 'OP_CLUSTER_INIT' && !state.params) {
    return refuse(wrongState("the cluster is not initialised; run 'opl cluster init NAME' first"));
  }
  // The table pairs each type with its decider; TypeScript cannot follow that through a union.
  const decide = deciders[opcode.type] as Decider<OpcodeType>;
  return decide(state, opcode, ctx);
};

/** A decider that refuses, as every opcode but OP_CLUSTER_INIT must, until the cluster exists. */
export const inCluster =
  <T extends OpcodeType>(decide: Decider<T>): Decider<T> =>
  (state, op, ctx) =>
    state.params ? decide(state, op, ctx) : refuse(wrongState("the cluster is not initialised; run 'opl cluster init NAME' first"));
