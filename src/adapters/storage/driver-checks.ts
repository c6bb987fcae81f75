import { stat } from 'node:fs/promises';
import type { ClusterState } from '../../domain/cluster-state.js';
import { driverScripts, findDriver, missingActions } from './driver-runner.js';

/**
 * For `cluster verify`: every pool a group is connected to has its driver where the
 * engine will run it (the directory recorded with the pool, else the search path), with
 * the executables a pool needs to make and remove disks. Only groups with local nodes
 * (no daemon): their driver calls run on the engine's host, with NODE_NAME set, so this
 * is a finding per group. A node with a daemon runs its own drivers and answers for
 * them itself (nodeDriverProblems).
 */
export const poolDriverProblems = async (state: ClusterState, searchPath: readonly string[]): Promise<{ group: string; problem: string }[]> => {
  const problems: { group: string; problem: string }[] = [];
  const checked = new Map<string, string | undefined>();
  const problemOf = async (poolName: string): Promise<string | undefined> => {
    const pool = state.pools.get(poolName);
    if (!pool) return `is connected to pool '${poolName}', which no longer exists`;
    const dir = pool.driverDir ?? (await findDriver(pool.driver, searchPath));
    const where = pool.driverDir ? `recorded at ${pool.driverDir}` : `searched for in ${searchPath.join(':')}`;
    if (!dir || !(await stat(dir).then((st) => st.isDirectory(), () => false))) return `pool '${pool.name}': storage driver '${pool.driver}' is not there (${where})`;
    try {
      const scripts = await driverScripts(dir);
      const missing = await missingActions(scripts);
      if (missing.length) return `pool '${pool.name}': storage driver '${pool.driver}' (${dir}) has no ${missing.join(' or ')} executable`;
    } catch (error) {
      return `pool '${pool.name}': storage driver '${pool.driver}' (${where}): ${(error as Error).message}`;
    }
    return undefined;
  };
  const withLocalNodes = new Set([...state.nodes.values()].filter((n) => !n.address).map((n) => n.groupUuid));
  for (const group of [...state.groups.values()].sort((a, b) => a.name.localeCompare(b.name))) {
    if (!withLocalNodes.has(group.uuid)) continue;
    for (const pool of [...group.pools].sort()) {
      if (!checked.has(pool)) checked.set(pool, await problemOf(pool));
      const problem = checked.get(pool);
      if (problem) problems.push({ group: group.name, problem });
    }
  }
  return problems;
};
