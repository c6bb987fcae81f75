import type { ClusterState } from './cluster-state.js';
import type { NodeObservation } from './instance-status.js';

/** Ganeti's NODE_MAX_CLOCK_SKEW: beyond this, a node's clock is reported. */
export const MAX_CLOCK_SKEW_MS = 150_000;

export interface VerifyFinding {
  node: string;
  problem: string;
}

/**
 * What `cluster verify` finds by comparing the configuration with what each node
 * reported just now: nodes that do not answer, clocks off, and instances running
 * where they should not or not running where they should (Ganeti's ENODEINSTANCE
 * family). Offline nodes are not asked and not judged.
 */
export const verifyObserved = (state: ClusterState, observed: ReadonlyMap<string, NodeObservation>): VerifyFinding[] => {
  const findings: VerifyFinding[] = [];
  const byName = new Map([...state.instances.values()].map((i) => [i.name, i]));
  const nodeName = (uuid: string) => state.nodes.get(uuid)?.name ?? uuid;
  for (const node of [...state.nodes.values()].sort((a, b) => a.name.localeCompare(b.name))) {
    if (node.offline) continue;
    const seen = observed.get(node.name);
    if (!seen) continue;
    if (!seen.reachable) {
      findings.push({ node: node.name, problem: `does not answer: ${seen.why}` });
      continue;
    }
    if (seen.clockSkewMs !== undefined && Math.abs(seen.clockSkewMs) > MAX_CLOCK_SKEW_MS) {
      findings.push({ node: node.name, problem: `its clock is ${(seen.clockSkewMs / 1000).toFixed(1)} s off this host's (more than ${MAX_CLOCK_SKEW_MS / 1000} s)` });
    }
    if (!seen.running) continue;
    const running = new Set(seen.running);
    for (const name of [...running].sort()) {
      const instance = byName.get(name);
      if (!instance) findings.push({ node: node.name, problem: `runs '${name}', which is not an instance of this cluster` });
      else if (instance.primaryNodeUuid !== node.uuid) findings.push({ node: node.name, problem: `runs instance ${name}, whose primary node is ${nodeName(instance.primaryNodeUuid)}` });
      else if (instance.adminState === 'down') findings.push({ node: node.name, problem: `runs instance ${name}, which should be stopped (ERROR_up)` });
    }
    for (const instance of [...byName.values()].sort((a, b) => a.name.localeCompare(b.name))) {
      if (instance.primaryNodeUuid === node.uuid && instance.adminState === 'up' && !running.has(instance.name)) {
        findings.push({ node: node.name, problem: `does not run instance ${instance.name}, which should be running (ERROR_down)` });
      }
    }
  }
  return findings;
};
