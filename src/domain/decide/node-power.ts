import { type ClusterState, type NodeConfig, findNode, oobProgramOf } from '../cluster-state.js';
import { DomainError, invalidArgument, notFound, wrongState } from '../errors.js';
import type { ClusterEvent } from '../events.js';
import type { OpcodeOf } from '../opcodes.js';
import { type Decision, ok, refuse } from './shared.js';

/** The nodes an oob command names, once each, with the program that powers each, or why one cannot be. */
export const oobTargets = (state: ClusterState, names: readonly string[]): { node: NodeConfig; program: string }[] | DomainError => {
  const targets: { node: NodeConfig; program: string }[] = [];
  for (const name of new Set(names)) {
    const node = findNode(state, name);
    if (!node) return notFound('node', name);
    const program = oobProgramOf(state, node);
    if (!program) {
      return invalidArgument(`node '${node.name}' has no oob program; give it one with 'opl node modify ${node.name} --node-parameters oob_program=PATH' (or the cluster's, on 'opl cluster modify')`);
    }
    targets.push({ node, program });
  }
  return targets;
};

/**
 * Ganeti's `gnt-node power on|off|cycle NODE…`: each node's oob program runs the command,
 * then its power status is checked. As in Ganeti, only a node marked offline is powered
 * off: powering off one the cluster still uses would end its guests behind its back.
 * (`power-status` is not decided: the engine runs it and reports what it printed.)
 */
export const decideOobCommand = (state: ClusterState, op: OpcodeOf<'OP_OOB_COMMAND'>): Decision => {
  if (op.command === 'power-status') return refuse(invalidArgument('power-status records nothing: the engine runs it'));
  const command = op.command;
  const targets = oobTargets(state, op.nodeNames);
  if (targets instanceof DomainError) return refuse(targets);
  const events: ClusterEvent[] = [];
  for (const { node, program } of targets) {
    // A local node is a directory on the engine's host (Ganeti never powers its master off).
    if (command !== 'power-on' && !node.address) return refuse(wrongState(`node '${node.name}' is a local node, on this engine's host: it is not powered off through an oob program`));
    if (command === 'power-off' && !node.offline) {
      return refuse(wrongState(`node '${node.name}' is not offline; mark it offline first ('opl node modify ${node.name} --offline yes'), then power it off`));
    }
    events.push({ type: 'NodePowered', data: { nodeUuid: node.uuid, command, program } });
  }
  return ok(...events);
};
