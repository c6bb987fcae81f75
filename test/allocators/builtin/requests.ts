/** Small Ganeti v2 requests written by hand, for the built-in allocator's unit tests. */
export interface NodeSpec {
  name: string;
  memory: number;
  free: number;
  group?: string;
  cpus?: number;
  offline?: boolean;
  drained?: boolean;
}
export interface InstanceSpec {
  name: string;
  node: string;
  memory: number;
  vcpus?: number;
  template?: string;
}

export const cluster = (nodes: NodeSpec[], instances: InstanceSpec[] = [], groups: Record<string, { name: string; alloc_policy?: string }> = { g1: { name: 'default' } }) => ({
  version: 2,
  cluster_name: 'unit.example.com',
  ipolicy: { 'vcpu-ratio': 4, 'spindle-ratio': 32, 'disk-templates': ['sharedfile', 'ext', 'plain', 'diskless'] },
  nodegroups: Object.fromEntries(Object.entries(groups).map(([uuid, g]) => [uuid, { alloc_policy: 'preferred', networks: [], tags: [], ...g }])),
  nodes: Object.fromEntries(nodes.map((n) => [n.name, {
    group: n.group ?? 'g1', offline: n.offline ?? false, drained: n.drained ?? false, vm_capable: true,
    total_memory: n.memory, free_memory: n.free, reserved_memory: 0, total_disk: 100_000, free_disk: 100_000,
    total_cpus: n.cpus ?? 16, reserved_cpus: 0, ndparams: { spindle_count: 1, exclusive_storage: false }, tags: [],
  }])),
  instances: Object.fromEntries(instances.map((i) => [i.name, {
    memory: i.memory, vcpus: i.vcpus ?? 1, disk_template: i.template ?? 'sharedfile', disks: [{ size: 1024, mode: 'rw' }],
    disk_space_total: 1024, nodes: [i.node], spindle_use: 1, tags: [], admin_state: 'up',
  }])),
});

export const allocate = (name: string, memory: number, extra: Record<string, unknown> = {}) => ({
  type: 'allocate', name, memory, vcpus: 1, disk_template: 'sharedfile', disks: [{ size: 1024, mode: 'rw' }],
  disk_space_total: 1024, required_nodes: 1, spindle_use: 1, tags: [], ...extra,
});
