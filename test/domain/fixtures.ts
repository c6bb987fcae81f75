import * as E from 'fp-ts/lib/Either.js';
import { decideCluster, type DecideContext } from '../../src/domain/cluster-decide.js';
import { evolveCluster } from '../../src/domain/cluster-evolve.js';
import { emptyClusterState, type ClusterState } from '../../src/domain/cluster-state.js';
import type { Opcode } from '../../src/domain/opcodes.js';
import { Opcode as OpcodeSchema } from '../../src/domain/opcodes.js';

export const sequentialUuids = () => {
  let n = 0;
  return { newUuid: () => `uuid-${++n}` };
};

/** Applies opcodes through decide and evolve, failing loudly on a refusal. */
export const stateAfter = (opcodes: unknown[], ctx: DecideContext = sequentialUuids()): ClusterState => {
  const state = emptyClusterState();
  for (const raw of opcodes) {
    const op: Opcode = OpcodeSchema.parse(raw);
    const decision = decideCluster(state, op, ctx);
    if (E.isLeft(decision)) throw new Error(`setup opcode refused: ${decision.left.message}`);
    decision.right.forEach((e) => evolveCluster(state, e, state.revision + 1n));
  }
  return state;
};

export const smallCluster = (): unknown[] => [
  { type: 'OP_CLUSTER_INIT', clusterName: 'c1' },
  { type: 'OP_GROUP_ADD', groupName: 'g1' },
  { type: 'OP_GROUP_ADD', groupName: 'g2' },
  { type: 'OP_NODE_ADD', nodeName: 'n1', groupName: 'g1', memoryMib: 4096, cpus: 2 },
  { type: 'OP_NODE_ADD', nodeName: 'n2', groupName: 'g1', memoryMib: 4096, cpus: 2 },
  { type: 'OP_NODE_ADD', nodeName: 'n3', groupName: 'g2', memoryMib: 4096, cpus: 2 },
  { type: 'OP_INSTANCE_CREATE', instanceName: 'i1', diskTemplate: 'diskless', memoryMib: 1024, vcpus: 2, primaryNode: 'n1' },
];
