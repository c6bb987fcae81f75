import * as E from 'fp-ts/lib/Either.js';
import { groupIsRedundant } from './global-n1.js';
import {
  EXTERNALLY_MIRRORED,
  LOCAL_STORAGE_TEMPLATES,
  diskOf,
  readModel,
  type Group,
  type Instance,
  type Model,
  type NewInstanceSpec,
  type Node,
} from './model.js';
import { OFFLINE_WEIGHT, figuresOf, offlinePenalty, scoreWith, type NodeFigures } from './score.js';

/** Ganeti's iallocator response. */
export interface AllocatorResponse {
  success: boolean;
  info: string;
  result: unknown;
}

type FailReason = 'FailMem' | 'FailDisk' | 'FailCPU' | 'FailN1' | 'FailDomain';

const POLICY_RANK = { preferred: 0, last_resort: 1, unallocable: 2 } as const;

const figures = (n: Node): NodeFigures => ({
  freeMemory: n.freeMemory, totalMemory: n.totalMemory, freeDisk: n.freeDisk, totalDisk: n.totalDisk,
  usedCpus: n.usedCpus, totalCpus: n.totalCpus, primaries: n.primaries, secondaries: n.secondaries,
});
const plus = (n: NodeFigures, i: Instance, sign: 1 | -1): NodeFigures => ({
  ...n,
  freeMemory: n.freeMemory - sign * i.memory,
  freeDisk: LOCAL_STORAGE_TEMPLATES.has(i.template) ? n.freeDisk - sign * i.disk : n.freeDisk,
  usedCpus: n.usedCpus + sign * i.vcpus,
  primaries: n.primaries + sign,
});

/**
 * Why an instance cannot start on a node, by htools' failure names; undefined if it
 * can. As in htools' `Node.addPri`, a node must keep some memory (and, for local
 * templates, disk) free: exactly full is full.
 */
const unfit = (node: Node, instance: Instance, group: Group): FailReason | undefined => {
  if (node.freeMemory - instance.memory <= 0) return 'FailMem';
  if (LOCAL_STORAGE_TEMPLATES.has(instance.template) && node.freeDisk - instance.disk <= 0) return 'FailDisk';
  if (node.usedCpus + instance.vcpus > group.policy.vcpuRatio * node.totalCpus) return 'FailCPU';
  return undefined;
};

/** What the group's instance policy says against an instance, if anything. */
const policyProblem = (group: Group, instance: Instance, diskCount: number): string | undefined => {
  const { templates, minmax } = group.policy;
  if (templates && !templates.has(instance.template)) return `disk template ${instance.template} is not allowed in group ${group.name}`;
  if (!minmax || minmax.length === 0) return undefined;
  const within = minmax.some(({ min, max }) => {
    const inRange = (value: number, low: number | undefined, high: number | undefined) => (low === undefined || value >= low) && (high === undefined || value <= high);
    return inRange(instance.memory, min['memory-size'], max['memory-size']) &&
      inRange(instance.vcpus, min['cpu-count'], max['cpu-count']) &&
      (instance.template === 'diskless' || inRange(diskCount, min['disk-count'], max['disk-count']));
  });
  return within ? undefined : `instance ${instance.name} (${instance.memory} MiB, ${instance.vcpus} vcpus, ${diskCount} disks) is outside the instance policy of group ${group.name}`;
};

interface Placement {
  node: Node;
  group: Group;
  score: number;
}

/**
 * The best node of one group for an instance: the lowest resulting score among the
 * nodes that fit it, checked for global N+1 best first (so the check runs once in the
 * common case), as htools' `collectionToSolution` does with its N+1 predicate.
 */
const bestInGroup = (
  model: Model,
  group: Group,
  instance: Instance,
  /** globalN1: for allocate, whether every other group is N+1 redundant as it stands. */
  options: { from?: Node; exclude?: ReadonlySet<number>; domain?: ReadonlySet<string>; globalN1?: { othersRedundant: boolean } },
  failures: Map<FailReason, number>,
): Placement | undefined => {
  const members = model.nodes.filter((n) => n.group === group.uuid);
  const online = members.filter((n) => !n.offline);
  const sums = figuresOf(online.map(figures));
  const base = offlinePenalty(members);
  const fail = (reason: FailReason) => failures.set(reason, (failures.get(reason) ?? 0) + 1);
  const scored: Placement[] = [];
  for (const node of online) {
    if (node === options.from || options.exclude?.has(node.index)) continue;
    if (options.domain && !options.domain.has(node.name)) {
      fail('FailDomain');
      continue;
    }
    const reason = unfit(node, instance, group);
    if (reason) {
      fail(reason);
      continue;
    }
    const target = figures(node);
    const changes: [NodeFigures, NodeFigures][] = [[target, plus(target, instance, 1)]];
    let penalty = base;
    if (options.from) {
      // A primary leaving an offline node takes its offline counts with it.
      if (options.from.offline) penalty -= OFFLINE_WEIGHT.anyInstance + OFFLINE_WEIGHT.primary;
      else changes.push([figures(options.from), plus(figures(options.from), instance, -1)]);
    }
    scored.push({ node, group, score: penalty + scoreWith(sums, changes) });
  }
  scored.sort((a, b) => a.score - b.score || a.node.name.localeCompare(b.node.name));
  if (!options.globalN1) return scored[0];
  // As in hail, the whole cluster must stay redundant: a group left as it is must be so
  // already, or no placement anywhere passes.
  if (!options.globalN1.othersRedundant) {
    for (const _ of scored) fail('FailN1');
    return undefined;
  }
  for (const candidate of scored) {
    if (groupIsRedundant(model, group.uuid, { node: candidate.node.index, instance, ...(options.from && { from: options.from.index }) })) return candidate;
    fail('FailN1');
  }
  return undefined;
};

/**
 * Whether every group but a given one is globally N+1 redundant as the model stands;
 * each group is checked at most once, and not at all in a one-group cluster.
 */
const othersRedundantIn = (model: Model): ((except: string) => boolean) => {
  const asIs = new Map<string, boolean>();
  const redundant = (group: string) => {
    if (!asIs.has(group)) asIs.set(group, groupIsRedundant(model, group));
    return asIs.get(group)!;
  };
  const groups = [...new Set(model.nodes.map((n) => n.group))];
  return (except) => groups.every((g) => g === except || redundant(g));
};

const describeFailures = (failures: Map<FailReason, number>) =>
  [...failures].map(([reason, count]) => `${reason}: ${count}`).join(', ') || 'no online nodes';

/** Places the instance in the model, as a later request in the same run must see it. */
const commit = (model: Model, instance: Instance, to: Node, from?: Node) => {
  if (from) {
    from.freeMemory += instance.memory;
    if (LOCAL_STORAGE_TEMPLATES.has(instance.template)) from.freeDisk += instance.disk;
    from.usedCpus -= instance.vcpus;
    from.primaries -= 1;
    from.instances.splice(from.instances.indexOf(instance.index), 1);
  }
  to.freeMemory -= instance.memory;
  if (LOCAL_STORAGE_TEMPLATES.has(instance.template)) to.freeDisk -= instance.disk;
  to.usedCpus += instance.vcpus;
  to.primaries += 1;
  to.instances.push(instance.index);
  instance.nodes = [to.index, ...instance.nodes.slice(1)];
};

const newInstance = (model: Model, spec: NewInstanceSpec): Instance => ({
  index: model.instances.length,
  name: spec.name,
  memory: spec.memory,
  vcpus: spec.vcpus,
  disk: diskOf(spec),
  template: spec.disk_template,
  nodes: [],
});

const groupsByPolicy = (model: Model) =>
  [...model.groups.values()].filter((g) => g.allocPolicy !== 'unallocable').sort((a, b) => POLICY_RANK[a.allocPolicy] - POLICY_RANK[b.allocPolicy]);

const allocateOne = (model: Model, spec: NewInstanceSpec, domain?: readonly string[]): E.Either<string, Placement> => {
  if (spec.required_nodes !== 1) return E.left(`only single-node placement is supported (shared storage); ${spec.required_nodes} nodes were asked for`);
  if (!EXTERNALLY_MIRRORED.has(spec.disk_template) && !LOCAL_STORAGE_TEMPLATES.has(spec.disk_template)) return E.left(`unknown disk template ${spec.disk_template}`);
  if (spec.disk_template === 'drbd') return E.left('drbd needs two nodes; this allocator places single-node templates');
  const instance = newInstance(model, spec);
  const allowed = domain && new Set(domain);
  let best: Placement | undefined;
  const reasons: string[] = [];
  const othersRedundant = othersRedundantIn(model);
  for (const group of groupsByPolicy(model)) {
    const problem = policyProblem(group, instance, spec.disks.length);
    if (problem) {
      reasons.push(problem);
      continue;
    }
    const failures = new Map<FailReason, number>();
    const found = bestInGroup(model, group, instance, { ...(allowed && { domain: allowed }), globalN1: { othersRedundant: othersRedundant(group.uuid) } }, failures);
    if (!found) {
      reasons.push(`group ${group.name}: ${describeFailures(failures)}`);
      continue;
    }
    if (!best || POLICY_RANK[group.allocPolicy] < POLICY_RANK[best.group.allocPolicy] || (group.allocPolicy === best.group.allocPolicy && found.score < best.score)) best = found;
  }
  if (!best) return E.left(`no valid placement for ${spec.name}: ${reasons.join('; ') || 'no allocable group'}`);
  model.instances.push(instance);
  commit(model, instance, best.node);
  return E.right(best);
};

/** Moves an existing instance off its primary, within its group (or to other groups). */
const relocateOne = (model: Model, name: string, options: { exclude?: ReadonlySet<number>; domain?: readonly string[]; groups?: readonly Group[] }): E.Either<string, Placement> => {
  const index = model.instanceByName.get(name);
  if (index === undefined) return E.left(`instance ${name} is not in the request`);
  const instance = model.instances[index]!;
  const from = model.nodes[instance.nodes[0] ?? -1];
  if (!from) return E.left(`instance ${name} has no primary node in the request`);
  if (!EXTERNALLY_MIRRORED.has(instance.template)) return E.left(`instance ${name} has disk template ${instance.template}, which cannot move to another node`);
  const groups = options.groups ?? [model.groups.get(from.group)!];
  const allowed = options.domain && new Set(options.domain);
  let best: Placement | undefined;
  const reasons: string[] = [];
  for (const group of groups) {
    const failures = new Map<FailReason, number>();
    const found = bestInGroup(model, group, instance, { from, ...(options.exclude && { exclude: options.exclude }), ...(allowed && { domain: allowed }) }, failures);
    if (!found) reasons.push(`group ${group.name}: ${describeFailures(failures)}`);
    else if (!best || found.score < best.score) best = found;
  }
  if (!best) return E.left(`no node can take ${name}: ${reasons.join('; ')}`);
  commit(model, instance, best.node, from);
  return E.right(best);
};

const ok = (info: string, result: unknown): AllocatorResponse => ({ success: true, info, result });
const failed = (info: string, result: unknown = []): AllocatorResponse => ({ success: false, info, result });

/** Answers a Ganeti v2 request; never throws on bad input, answers it with success false. */
export const solve = (json: unknown): AllocatorResponse => {
  const read = readModel(json);
  if (E.isLeft(read)) return failed(read.left);
  const model = read.right;
  const request = model.request;
  switch (request.type) {
    case 'allocate': {
      const placed = allocateOne(model, request, request.mobility_domain);
      return E.isLeft(placed)
        ? failed(placed.left)
        : ok(`placed ${request.name} on ${placed.right.node.name} in group ${placed.right.group.name}, score ${placed.right.score.toFixed(8)}`, [placed.right.node.name]);
    }
    case 'relocate': {
      const exclude = new Set(request.relocate_from.map((n) => model.nodeByName.get(n)).filter((n): n is number => n !== undefined));
      const placed = relocateOne(model, request.name, { exclude, ...(request.mobility_domain && { domain: request.mobility_domain }) });
      return E.isLeft(placed) ? failed(placed.left) : ok(`relocate ${request.name} to ${placed.right.node.name}, score ${placed.right.score.toFixed(8)}`, [placed.right.node.name]);
    }
    case 'node-evacuate':
    case 'change-group': {
      const evacuated = new Set(request.instances.map((name) => model.instances[model.instanceByName.get(name) ?? -1]?.nodes[0]).filter((n): n is number => n !== undefined));
      const targetGroups = request.type === 'change-group' ? changeGroupTargets(model, request.instances, request.target_groups) : undefined;
      const moved: [string, string, string[]][] = [];
      const failures: [string, string][] = [];
      const jobs: Record<string, unknown>[][] = [];
      for (const name of request.instances) {
        const placed = relocateOne(model, name, { ...(request.type === 'node-evacuate' && { exclude: evacuated }), ...(targetGroups && { groups: targetGroups }) });
        if (E.isLeft(placed)) {
          failures.push([name, placed.left]);
          continue;
        }
        moved.push([name, placed.right.group.name, [placed.right.node.name]]);
        jobs.push([{ OP_ID: 'OP_INSTANCE_MIGRATE', instance_name: name, target_node: placed.right.node.name, allow_failover: true }]);
      }
      return ok(`${moved.length} moved, ${failures.length} failed`, [moved, failures, jobs]);
    }
    case 'multi-allocate': {
      const placed: [string, string[]][] = [];
      const notPlaced: string[] = [];
      for (const spec of request.instances) {
        const result = allocateOne(model, spec);
        if (E.isLeft(result)) notPlaced.push(spec.name);
        else placed.push([spec.name, [result.right.node.name]]);
      }
      return ok(`${placed.length} placed, ${notPlaced.length} not placed`, [placed, notPlaced]);
    }
  }
};

/** change-group: the named groups, or every other allocable group of the instances. */
const changeGroupTargets = (model: Model, names: readonly string[], targets: readonly string[]): Group[] => {
  if (targets.length > 0) return targets.map((t) => model.groups.get(t) ?? [...model.groups.values()].find((g) => g.name === t)).filter((g): g is Group => g !== undefined);
  const current = new Set(names.map((n) => model.nodes[model.instances[model.instanceByName.get(n) ?? -1]?.nodes[0] ?? -1]?.group));
  return groupsByPolicy(model).filter((g) => !current.has(g.uuid));
};
