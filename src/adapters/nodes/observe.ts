import type { ClusterState } from '../../domain/cluster-state.js';
import type { Hypervisor } from '../../domain/ports/hypervisor.js';
import type { NodeObservation } from '../../domain/instance-status.js';
import type { NodeReach } from '../../domain/ports/node-reach.js';

/** How long a listing waits for one node before calling it unreachable. */
export const OBSERVE_TIMEOUT_MS = 3_000;

const within = <T>(promise: Promise<T>, ms: number, what: string): Promise<T> =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    promise.then(
      (value) => (clearTimeout(timer), resolve(value)),
      (error: unknown) => (clearTimeout(timer), reject(error instanceof Error ? error : new Error(String(error)))),
    );
  });

/**
 * Asks every node that is not offline, all at once, what it is: a node with an address
 * through its daemon (reachable or not, what its hypervisor runs, its clock), a local
 * one through the local hypervisor. Offline nodes are not asked (Ganeti neither).
 */
export const observeNodes = async (
  state: ClusterState,
  ports: { hypervisor: Hypervisor; nodes: NodeReach | undefined },
  timeoutMs = OBSERVE_TIMEOUT_MS,
): Promise<Map<string, NodeObservation>> => {
  const asked = [...state.nodes.values()]
    .filter((node) => !node.offline)
    .map(async (node): Promise<[string, NodeObservation]> => {
      try {
        if (node.address) {
          if (!ports.nodes) return [node.name, { reachable: false, why: 'this command cannot call node daemons' }];
          const asked = Date.now();
          const answer = await within(ports.nodes.facts(node.name, node.address), timeoutMs, `node ${node.name}`);
          if (!answer.ok) return [node.name, { reachable: false, why: answer.message }];
          // Its clock against the middle of our round trip: good to half the round trip.
          const { memoryTotalMib, memoryFreeMib, storage } = answer.facts;
          return [node.name, { reachable: true, running: answer.facts.instances, clockSkewMs: Math.round(answer.facts.time - (asked + Date.now()) / 2), now: { memoryTotalMib, memoryFreeMib, storage } }];
        }
        return [node.name, { reachable: true, running: await within(ports.hypervisor.running(node.name), timeoutMs, `node ${node.name}`) }];
      } catch (error) {
        return [node.name, { reachable: false, why: (error as Error).message }];
      }
    });
  return new Map(await Promise.all(asked));
};
