import type { Node } from './model.js';

/**
 * The cluster score of Ganeti's htools (hbal's "Initial score"), for the components
 * that a placement on shared storage can change. Lower is better. Each component is a
 * statistic over the online nodes of one group, times a weight; the weights are those
 * of Ganeti 3.0 (`src/Ganeti/HTools/Cluster/MetricsComponents.hs`, the same that
 * `hbal -v -v` prints):
 *
 * | htools component                        | weight | per node                         |
 * | --------------------------------------- | ------ | -------------------------------- |
 * | free_mem_cv + free_mem_cv_forth         | 0.5+0.5 | free memory / total memory (sd) |
 * | free_disk_cv + free_disk_cv_forth       | 0.5+0.5 | free disk / total disk (sd)     |
 * | vcpu_ratio_cv + vcpu_ratio_cv_forth     | 0.5+0.5 | primary vcpus / cpus (sd)       |
 * | cpu_load_cv, mem_load_cv, net_load_cv   | 1 each | primary instances (sd; htools' default load of 1 each) |
 * | disk_load_cv                            | 1      | primary + secondary instances (sd) |
 * | offline_all_cnt, offline_pri_cnt        | 4, 16  | instances on offline nodes (sum) |
 *
 * "sd" is the population standard deviation. The "forth" components equal their
 * plain ones when no move is pending, which is always so for one request. Left out,
 * as constant for these requests: N+1 failures and reserved memory (no DRBD
 * secondaries are placed), spindles (non-exclusive storage), tags and locations.
 */
export interface Component {
  readonly name: string;
  readonly weight: number;
  readonly of: (n: NodeFigures) => number;
}

/** What a component reads of a node: its state, possibly with a change applied. */
export interface NodeFigures {
  freeMemory: number;
  totalMemory: number;
  freeDisk: number;
  totalDisk: number;
  usedCpus: number;
  totalCpus: number;
  primaries: number;
  secondaries: number;
}

const fraction = (part: number, whole: number) => (whole > 0 ? part / whole : 0);

export const COMPONENTS: readonly Component[] = [
  { name: 'free_mem_cv (+forth)', weight: 1, of: (n) => fraction(n.freeMemory, n.totalMemory) },
  { name: 'free_disk_cv (+forth)', weight: 1, of: (n) => (n.totalDisk > 0 ? n.freeDisk / n.totalDisk : 1) },
  { name: 'vcpu_ratio_cv (+forth)', weight: 1, of: (n) => fraction(n.usedCpus, n.totalCpus) },
  { name: 'cpu_load_cv, mem_load_cv, net_load_cv', weight: 3, of: (n) => n.primaries },
  { name: 'disk_load_cv', weight: 1, of: (n) => n.primaries + n.secondaries },
];

/** Per component, the sum and sum of squares over the online nodes scored. */
export interface Sums {
  count: number;
  sum: Float64Array;
  squares: Float64Array;
}

export const figuresOf = (nodes: Iterable<NodeFigures>): Sums => {
  const sums: Sums = { count: 0, sum: new Float64Array(COMPONENTS.length), squares: new Float64Array(COMPONENTS.length) };
  for (const n of nodes) {
    sums.count += 1;
    COMPONENTS.forEach((c, k) => {
      const v = c.of(n);
      sums.sum[k]! += v;
      sums.squares[k]! += v * v;
    });
  }
  return sums;
};

const deviation = (count: number, sum: number, squares: number) => {
  if (count === 0) return 0;
  const mean = sum / count;
  return Math.sqrt(Math.max(0, squares / count - mean * mean));
};

/** htools' offline_all_cnt and offline_pri_cnt weights: per instance on an offline node. */
export const OFFLINE_WEIGHT = { anyInstance: 4, primary: 16 } as const;

/** The weighted score of the offline-instance counts: constant for one group's choice. */
export const offlinePenalty = (nodes: Iterable<Node>): number => {
  let all = 0;
  let primaries = 0;
  for (const n of nodes) {
    if (!n.offline) continue;
    all += n.primaries + n.secondaries;
    primaries += n.primaries;
  }
  return OFFLINE_WEIGHT.anyInstance * all + OFFLINE_WEIGHT.primary * primaries;
};

/** The score with some nodes changed: each change is a node's figures before and after. */
export const scoreWith = (sums: Sums, changes: readonly (readonly [NodeFigures, NodeFigures])[] = []): number => {
  let score = 0;
  COMPONENTS.forEach((c, k) => {
    let sum = sums.sum[k]!;
    let squares = sums.squares[k]!;
    for (const [before, after] of changes) {
      const b = c.of(before);
      const a = c.of(after);
      sum += a - b;
      squares += a * a - b * b;
    }
    score += c.weight * deviation(sums.count, sum, squares);
  });
  return score;
};
