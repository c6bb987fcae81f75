import { setTimeout as sleep } from 'node:timers/promises';
import type { ClusterState } from '../domain/cluster-state.js';
import type { Session } from './session.js';

/** How often a leading daemon looks for nodes that owe undos and answer again (default 10 s). */
export const owedUndoIntervalMs = (env: NodeJS.ProcessEnv): number => {
  const ms = Number(env.OPL_REPAIR_INTERVAL_MS ?? 10_000);
  return Number.isInteger(ms) && ms >= 100 && ms <= 3_600_000 ? ms : 10_000;
};

/** Nodes, by name, that owe undos and are not marked offline: the ones worth asking. */
export const nodesOwing = (state: ClusterState): string[] => {
  const owing = new Set([...state.owedUndos.values()].map((u) => u.nodeUuid));
  return [...state.nodes.values()].filter((n) => owing.has(n.uuid) && !n.offline).map((n) => n.name).sort();
};

/**
 * While the daemon leads: a node that owes undos of failed jobs (they could not reach
 * it) and answers again gets them done — the daemon submits `node repair NODE` for it,
 * as an operator would, so the work is a job like any other (recorded, in the audit log,
 * with its steps). One job per node at a time; a job finding nothing left owed does
 * nothing. A node marked offline is left to the operator (mark it online, or --give-up).
 */
export const watchOwedUndos = async (s: Session, stop: AbortSignal, leading: () => boolean, intervalMs: number): Promise<void> => {
  const submitted = new Map<string, number>();
  while (!stop.aborted) {
    try {
      await sleep(intervalMs, undefined, { signal: stop });
    } catch {
      return; // stopped
    }
    if (!leading()) continue;
    try {
      const views = await s.views();
      const pending = (name: string) => submitted.has(name) && views.openJobs.has(submitted.get(name)!);
      const owing = nodesOwing(views.cluster).filter((name) => !pending(name));
      if (owing.length === 0) continue;
      const observed = await s.observe(views.cluster);
      for (const name of owing.filter((n) => observed.get(n)?.reachable)) {
        const id = await s.plane.submit([{ type: 'OP_NODE_REPAIR', nodeName: name, giveUp: false }]);
        submitted.set(name, id);
        s.io.err(`opl daemon: node ${name} answers again; job ${id} does the undos it owes\n`);
      }
    } catch (error) {
      // A store or a node that fails this round is asked again in the next one.
      s.io.err(`opl daemon: looking for nodes that owe undos failed: ${(error as Error).message}\n`);
    }
  }
};
