import { groupRedundancy, type GroupRedundancy } from '../../allocators/builtin/redundancy.js';
import type { ClusterState } from '../../domain/cluster-state.js';
import type { NodeObservation } from '../../domain/instance-status.js';
import { verifyObserved } from '../../domain/verify-observed.js';
import type { NodeStorageCheck } from '../../domain/ports/node-storage-check.js';
import { adoptedDeviceProblems, type IdentifyDevice } from '../storage/block-devices.js';
import type { NodeCaller } from '../hypervisors/node-routed.js';
import { poolDriverProblems } from '../storage/driver-checks.js';
import { nodeDriverProblems } from '../storage/node-driver-checks.js';
import { checkNodeStorage } from './storage-checks.js';

export interface NodeProblem {
  /** The node it was found on; a group's finding names the group instead. */
  node?: string;
  group?: string;
  problem: string;
}

export interface NodeVerdict {
  node: string;
  status: 'ok' | 'offline' | 'unreachable';
  clockSkewMs: number | null;
}

export interface VerifyReport {
  ok: boolean;
  problems: NodeProblem[];
  nodes: NodeVerdict[];
  groups: GroupRedundancy[];
}

/** Everything `cluster verify` checks, from the configuration and what the nodes reported just now. */
export interface NodeLooks {
  storage: NodeStorageCheck;
  identify: IdentifyDevice;
  /** Where pools' drivers are looked for when a pool recorded no directory. */
  driverPath: readonly string[];
  /** A node's daemon, for what only it can say (its drivers); none for a local node. */
  daemonOf: (name: string) => NodeCaller | undefined;
}

export const verifyCluster = async (state: ClusterState, observed: ReadonlyMap<string, NodeObservation>, looks: NodeLooks): Promise<VerifyReport> => {
  const groups = groupRedundancy(state);
  const answering = new Set([...observed].filter(([, seen]) => seen.reachable).map(([name]) => name));
  const problems: NodeProblem[] = [
    ...verifyObserved(state, observed),
    ...(await checkNodeStorage(state, looks.storage, answering)),
    ...(await adoptedDeviceProblems(state, looks.identify, answering)),
    ...(await poolDriverProblems(state, looks.driverPath)),
    ...(await nodeDriverProblems(state, answering, looks.daemonOf)),
    ...owedUndoProblems(state),
    ...groups.filter((g) => !g.redundant).map((g) => ({ group: g.group, problem: `is not N+1 redundant: if one of its ${g.onlineNodes} online node(s) failed, its instances would not all find room on the others` })),
  ];
  const nodes = [...state.nodes.values()]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((n): NodeVerdict => {
      const seen = observed.get(n.name);
      if (n.offline || !seen) return { node: n.name, status: 'offline', clockSkewMs: null };
      return seen.reachable ? { node: n.name, status: 'ok', clockSkewMs: seen.clockSkewMs ?? null } : { node: n.name, status: 'unreachable', clockSkewMs: null };
    });
  return { ok: problems.length === 0, problems, nodes, groups };
};

/** A node that owes undos of failed jobs: what is left on it until `node repair` runs. */
const owedUndoProblems = (state: ClusterState): NodeProblem[] =>
  [...state.nodes.values()]
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((node) => {
      const owed = [...state.owedUndos.values()].filter((u) => u.nodeUuid === node.uuid);
      if (owed.length === 0) return [];
      const jobs = [...new Set(owed.map((u) => u.jobId))].join(', ');
      return [{ node: node.name, problem: `owes ${owed.length} undo(s) of failed job(s) ${jobs} (${owed[0]!.what}${owed.length > 1 ? ', …' : ''}): 'opl node repair ${node.name}' once it answers` }];
    });

export const verifyText = (report: VerifyReport): string => {
  const answered = report.nodes.filter((n) => n.status === 'ok').length;
  const asked = report.nodes.filter((n) => n.status !== 'offline').length;
  const count = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
  const head = `cluster verify: ${count(report.nodes.length, 'node')} checked (${answered} of ${asked} asked answered), ${count(report.groups.length, 'group')}`;
  if (report.ok) return `${head}, no problems\n`;
  const lines = report.problems.map((p) => `ERROR: ${p.node !== undefined ? `node ${p.node}` : `group ${p.group}`}: ${p.problem}`);
  return `${[head, ...lines].join('\n')}\n`;
};
