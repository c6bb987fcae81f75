import { LOCAL_STORAGE_TEMPLATES, type Instance, type Model, type Node } from './model.js';

/**
 * Ganeti's global N+1 redundancy for one group (htools' `GlobalN1.redundant`): every
 * online node could be emptied onto the group's other online nodes, its externally
 * mirrored instances moved and its local ones recreated, largest first. Like htools
 * in evacuation mode, only memory (and disk, for local templates) are hard limits.
 *
 * Where htools tries every target by full cluster score, each instance here goes to
 * the node with the largest free-memory fraction that fits it: the target the score's
 * free-memory term prefers. Nodes are sorted once, and each evacuation touches at most
 * as many nodes as it moves instances, so a group is checked in about N·k·k steps
 * (k instances a node) where a per-instance scan would take N·N·k.
 */

export const groupIsRedundant = (model: Model, group: string, change?: { node: number; instance: Instance; from?: number }): boolean => {
  const everyone = model.nodes.filter((n) => n.group === group);
  const members = everyone.filter((n) => !n.offline);
  const free = new Map<number, { memory: number; disk: number }>(everyone.map((n) => [n.index, { memory: n.freeMemory, disk: n.freeDisk }]));
  const residents = new Map<number, Instance[]>(everyone.map((n) => [n.index, n.instances.map((i) => model.instances[i]!)]));
  if (change) {
    const target = free.get(change.node);
    if (target) {
      target.memory -= change.instance.memory;
      if (LOCAL_STORAGE_TEMPLATES.has(change.instance.template)) target.disk -= change.instance.disk;
      residents.get(change.node)!.push(change.instance);
    }
    if (change.from !== undefined && free.has(change.from)) {
      free.get(change.from)!.memory += change.instance.memory;
      residents.set(change.from, residents.get(change.from)!.filter((i) => i.index !== change.instance.index));
    }
  }
  const ratio = (n: Node) => (n.totalMemory > 0 ? free.get(n.index)!.memory / n.totalMemory : 0);
  const byRoom = [...members].sort((a, b) => ratio(b) - ratio(a));
  // Offline (and drained) nodes too, as htools' `redundant` does: what lives there must
  // have somewhere to go as well.
  return everyone.every((evacuee) => canEvacuate(evacuee, residents.get(evacuee.index)!, byRoom, model.nodes, free));
};

const canEvacuate = (
  evacuee: Node,
  residents: readonly Instance[],
  byRoom: readonly Node[],
  nodes: readonly Node[],
  free: ReadonlyMap<number, { memory: number; disk: number }>,
): boolean => {
  // What this evacuation has taken from each target so far.
  const taken = new Map<number, { memory: number; disk: number }>();
  const roomOf = (n: Node) => {
    const base = free.get(n.index)!;
    const t = taken.get(n.index);
    return { memory: base.memory - (t?.memory ?? 0), disk: base.disk - (t?.disk ?? 0) };
  };
  const largestFirst = [...residents].sort((a, b) => b.memory - a.memory);
  for (const instance of largestFirst) {
    const local = LOCAL_STORAGE_TEMPLATES.has(instance.template);
    const fits = (n: Node) => {
      const room = roomOf(n);
      // htools' hard limits, which hold even in evacuation: something must stay free.
      return room.memory - instance.memory > 0 && (!local || room.disk - instance.disk > 0);
    };
    let best: Node | undefined;
    let bestRatio = -Infinity;
    // Touched nodes may have fallen in the order; the first untouched one that fits is
    // the best untouched one, since untouched nodes keep their sorted figures.
    for (const index of taken.keys()) {
      const n = nodes[index]!;
      const r = roomOf(n).memory / n.totalMemory;
      if (fits(n) && r > bestRatio) [best, bestRatio] = [n, r];
    }
    for (const n of byRoom) {
      if (n.index === evacuee.index || taken.has(n.index)) continue;
      if (!fits(n)) continue;
      const r = roomOf(n).memory / n.totalMemory;
      if (r > bestRatio) [best, bestRatio] = [n, r];
      break;
    }
    if (!best) return false;
    const t = taken.get(best.index) ?? { memory: 0, disk: 0 };
    t.memory += instance.memory;
    if (local) t.disk += instance.disk;
    taken.set(best.index, t);
  }
  return true;
};
