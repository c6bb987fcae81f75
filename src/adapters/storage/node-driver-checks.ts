import { z } from 'zod';
import type { ClusterState } from '../../domain/cluster-state.js';
import type { NodeCaller } from '../hypervisors/node-routed.js';

export interface DriverFinding {
  node: string;
  problem: string;
}

const CheckAnswer = z.object({ drivers: z.array(z.object({ driver: z.string(), problem: z.string().max(65_536).optional() })) });

/**
 * For `cluster verify`: every answering node with a daemon says whether the drivers of
 * the pools its group is connected to are there, with what a pool needs, in its own
 * driver directories — where its disks' driver calls run. All nodes at once; a node
 * whose answer is not in the promised shape, or names drivers it was not asked about,
 * is a finding, not a pass.
 */
export const nodeDriverProblems = async (state: ClusterState, answering: ReadonlySet<string>, daemonOf: (name: string) => NodeCaller | undefined): Promise<DriverFinding[]> => {
  const groups = new Map([...state.groups.values()].map((g) => [g.uuid, g]));
  const asked = [...state.nodes.values()]
    .filter((n) => n.address && !n.offline && answering.has(n.name))
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((node) => ({ node, pools: [...(groups.get(node.groupUuid)?.pools ?? [])].sort().flatMap((name) => (state.pools.has(name) ? [state.pools.get(name)!] : [])) }))
    .filter((a) => a.pools.length > 0);
  const answers = await Promise.all(
    asked.map(async ({ node, pools }): Promise<DriverFinding[]> => {
      const daemon = daemonOf(node.name);
      if (!daemon) return [];
      const drivers = [...new Set(pools.map((p) => p.driver))];
      try {
        const parsed = CheckAnswer.safeParse(await daemon.call('driver-check', { node: node.name, drivers }));
        const said = parsed.success ? new Map(parsed.data.drivers.map((d) => [d.driver, d])) : undefined;
        if (!said || parsed.data!.drivers.length !== drivers.length || said.size !== drivers.length || drivers.some((d) => !said.has(d))) return [{ node: node.name, problem: 'answered driver-check with something that is not a word on each driver asked about' }];
        return pools.flatMap((pool) => {
          const problem = said.get(pool.driver)!.problem;
          return problem ? [{ node: node.name, problem: `pool '${pool.name}': storage driver '${pool.driver}' ${problem}` }] : [];
        });
      } catch (error) {
        return [{ node: node.name, problem: `could not say whether its storage drivers are there: ${(error as Error).message}` }];
      }
    }),
  );
  return answers.flat();
};
