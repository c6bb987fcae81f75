/**
 * Ganeti's instance status words, from what was recorded (the admin state, the primary
 * node's flags) and what the nodes report now. Without a report the recorded state is
 * all there is, and the words say only that (`running` / `ADMIN_down`).
 */
export type InstanceStatus = 'running' | 'ADMIN_down' | 'ERROR_up' | 'ERROR_down' | 'ERROR_nodedown' | 'ERROR_nodeoffline' | 'ERROR_wrongnode';

/** What one node said when asked just now. `running` is absent when the node cannot list its guests (yet). */
/** What a node said just now; `now` is a daemon's own report (memory, storage directories), absent for local nodes. */
export interface NodeNow {
  memoryTotalMib: number;
  memoryFreeMib: number;
  storage: { path: string; totalMib: number; freeMib: number; error?: string }[];
}
export type NodeObservation = { reachable: true; running?: readonly string[]; clockSkewMs?: number; now?: NodeNow } | { reachable: false; why: string };

export interface StatusInput {
  name: string;
  adminState: 'up' | 'down';
  primaryNode: string;
  primaryOffline: boolean;
}

/** Every node (with a report) that runs each instance. */
export const runningWhere = (observed: ReadonlyMap<string, NodeObservation>): Map<string, string[]> => {
  const where = new Map<string, string[]>();
  for (const [node, seen] of observed) {
    if (!seen.reachable || !seen.running) continue;
    for (const instance of seen.running) where.set(instance, [...(where.get(instance) ?? []), node]);
  }
  return where;
};

export const instanceStatus = (instance: StatusInput, observed: ReadonlyMap<string, NodeObservation> | undefined, where = observed && runningWhere(observed)): InstanceStatus => {
  const recorded: InstanceStatus = instance.adminState === 'up' ? 'running' : 'ADMIN_down';
  // Ganeti shows an offline node's instances so whatever they may be doing: it is not asked.
  if (instance.primaryOffline) return 'ERROR_nodeoffline';
  const primary = observed?.get(instance.primaryNode);
  if (!observed || !primary) return recorded;
  if (!primary.reachable) return 'ERROR_nodedown';
  if (!primary.running) return recorded;
  const runsOnPrimary = primary.running.includes(instance.name);
  if (!runsOnPrimary && (where?.get(instance.name) ?? []).length > 0) return 'ERROR_wrongnode';
  if (instance.adminState === 'up') return runsOnPrimary ? 'running' : 'ERROR_down';
  return runsOnPrimary ? 'ERROR_up' : 'ADMIN_down';
};
