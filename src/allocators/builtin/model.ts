import * as E from 'fp-ts/lib/Either.js';
import type { Either } from 'fp-ts/lib/Either.js';
import { z } from 'zod';

/**
 * A Ganeti iallocator version 2 request, read the way htools reads it: each node's
 * free memory as reported (instances already subtracted), drained and non-vm-capable
 * nodes treated as offline, and every instance counted once on its nodes.
 */
const Ispec = z.object({
  'memory-size': z.number().optional(),
  'cpu-count': z.number().optional(),
  'disk-size': z.number().optional(),
  'disk-count': z.number().optional(),
}).loose();
const Ipolicy = z.object({
  minmax: z.array(z.object({ min: Ispec, max: Ispec })).optional(),
  'disk-templates': z.array(z.string()).optional(),
  'vcpu-ratio': z.number().optional(),
}).loose();
const Disk = z.object({ size: z.number().nonnegative() }).loose();
const GanetiNode = z.object({
  group: z.string(),
  offline: z.boolean().default(false),
  drained: z.boolean().default(false),
  vm_capable: z.boolean().default(true),
  total_memory: z.number(),
  free_memory: z.number(),
  reserved_memory: z.number().default(0),
  total_disk: z.number().default(0),
  free_disk: z.number().default(0),
  total_cpus: z.number(),
  reserved_cpus: z.number().default(0),
  tags: z.array(z.string()).default([]),
}).loose();
const GanetiInstance = z.object({
  memory: z.number(),
  vcpus: z.number(),
  disk_template: z.string(),
  disks: z.array(Disk).default([]),
  disk_space_total: z.number().default(0),
  nodes: z.array(z.string()),
  tags: z.array(z.string()).default([]),
  admin_state: z.string().default('up'),
}).loose();
const GanetiGroup = z.object({
  name: z.string(),
  alloc_policy: z.enum(['preferred', 'last_resort', 'unallocable']).default('preferred'),
  ipolicy: Ipolicy.optional(),
}).loose();
const NewInstance = z.object({
  name: z.string(),
  memory: z.number().positive(),
  vcpus: z.number().int().positive(),
  disk_template: z.string(),
  disks: z.array(Disk).default([]),
  disk_space_total: z.number().default(0),
  required_nodes: z.number().int().default(1),
  tags: z.array(z.string()).default([]),
});
const Request = z.discriminatedUnion('type', [
  NewInstance.extend({ type: z.literal('allocate'), mobility_domain: z.array(z.string()).optional() }).loose(),
  z.object({ type: z.literal('relocate'), name: z.string(), relocate_from: z.array(z.string()).default([]), mobility_domain: z.array(z.string()).optional() }).loose(),
  z.object({ type: z.literal('node-evacuate'), instances: z.array(z.string()), evac_mode: z.enum(['primary-only', 'secondary-only', 'all']).default('all') }).loose(),
  z.object({ type: z.literal('change-group'), instances: z.array(z.string()), target_groups: z.array(z.string()).default([]) }).loose(),
  z.object({ type: z.literal('multi-allocate'), instances: z.array(NewInstance.loose()) }).loose(),
]);
export const GanetiRequest = z.object({
  ipolicy: Ipolicy.optional(),
  nodegroups: z.record(z.string(), GanetiGroup).default({}),
  nodes: z.record(z.string(), GanetiNode).default({}),
  instances: z.record(z.string(), GanetiInstance).default({}),
  request: Request,
}).loose();
export type GanetiRequest = z.infer<typeof GanetiRequest>;
export type AllocRequest = GanetiRequest['request'];
export type NewInstanceSpec = z.infer<typeof NewInstance>;

/** Templates whose disks live on the node itself: they use its disk, and cannot move. */
export const LOCAL_STORAGE_TEMPLATES = new Set(['plain', 'file', 'drbd']);
/** Templates whose instances may start on any node that reaches their storage. */
export const EXTERNALLY_MIRRORED = new Set(['sharedfile', 'blockdev', 'rbd', 'ext', 'gluster', 'diskless']);

export interface Policy {
  vcpuRatio: number;
  templates: ReadonlySet<string> | undefined;
  minmax: z.infer<typeof Ipolicy>['minmax'];
}

export interface Node {
  readonly index: number;
  readonly name: string;
  readonly group: string;
  readonly offline: boolean;
  readonly totalMemory: number;
  freeMemory: number;
  readonly totalDisk: number;
  freeDisk: number;
  readonly totalCpus: number;
  usedCpus: number;
  primaries: number;
  secondaries: number;
  /** Instances living here, by index into the model's instance list. */
  readonly instances: number[];
}

export interface Instance {
  readonly index: number;
  readonly name: string;
  readonly memory: number;
  readonly vcpus: number;
  readonly disk: number;
  readonly template: string;
  /** Node indexes: primary first. */
  nodes: number[];
}

export interface Group {
  readonly uuid: string;
  readonly name: string;
  readonly allocPolicy: 'preferred' | 'last_resort' | 'unallocable';
  readonly policy: Policy;
}

export interface Model {
  readonly nodes: Node[];
  readonly instances: Instance[];
  readonly groups: Map<string, Group>;
  readonly nodeByName: Map<string, number>;
  readonly instanceByName: Map<string, number>;
  readonly request: AllocRequest;
}

const policyOf = (own: z.infer<typeof Ipolicy> | undefined, cluster: z.infer<typeof Ipolicy> | undefined): Policy => {
  const merged = { ...cluster, ...own };
  return {
    vcpuRatio: merged['vcpu-ratio'] ?? 4,
    templates: merged['disk-templates'] ? new Set(merged['disk-templates']) : undefined,
    minmax: merged.minmax,
  };
};

export const diskOf = (i: { disks: { size: number }[]; disk_space_total: number }): number =>
  i.disks.length > 0 ? i.disks.reduce((sum, d) => sum + d.size, 0) : i.disk_space_total;

/** Reads a request; one line saying what is wrong where if it is not Ganeti v2. */
export const readModel = (json: unknown): Either<string, Model> => {
  const parsed = GanetiRequest.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return E.left(`not a Ganeti iallocator request: ${issue.path.join('.') || '(top)'}: ${issue.message}`);
  }
  const input = parsed.data;
  const groups = new Map<string, Group>(
    Object.entries(input.nodegroups).map(([uuid, g]) => [uuid, { uuid, name: g.name, allocPolicy: g.alloc_policy, policy: policyOf(g.ipolicy, input.ipolicy) }]),
  );
  const nodes: Node[] = Object.entries(input.nodes).map(([name, n], index) => {
    if (!groups.has(n.group)) groups.set(n.group, { uuid: n.group, name: n.group, allocPolicy: 'preferred', policy: policyOf(undefined, input.ipolicy) });
    return {
      index,
      name,
      group: n.group,
      offline: n.offline || n.drained || !n.vm_capable,
      totalMemory: n.total_memory,
      freeMemory: n.free_memory,
      totalDisk: n.total_disk,
      freeDisk: n.free_disk,
      totalCpus: n.total_cpus,
      usedCpus: 0,
      primaries: 0,
      secondaries: 0,
      instances: [],
    };
  });
  const nodeByName = new Map(nodes.map((n) => [n.name, n.index]));
  const instances: Instance[] = [];
  for (const [name, i] of Object.entries(input.instances)) {
    const on = i.nodes.map((n) => nodeByName.get(n)).filter((n): n is number => n !== undefined);
    const instance: Instance = { index: instances.length, name, memory: i.memory, vcpus: i.vcpus, disk: diskOf(i), template: i.disk_template, nodes: on };
    instances.push(instance);
    const [primary, ...secondaries] = on;
    if (primary !== undefined) {
      const node = nodes[primary]!;
      node.primaries += 1;
      node.usedCpus += i.vcpus;
      node.instances.push(instance.index);
    }
    for (const s of secondaries) nodes[s]!.secondaries += 1;
  }
  return E.right({ nodes, instances, groups, nodeByName, instanceByName: new Map(instances.map((i) => [i.name, i.index])), request: input.request });
};
