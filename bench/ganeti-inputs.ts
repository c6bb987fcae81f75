/**
 * Ganeti iallocator version 2 inputs, written from Ganeti's own format (not from our
 * request builder), for comparing allocators: one node group of `nodes` nodes with
 * `perNode` sharedfile instances each, sizes drawn from a seeded generator.
 */
export interface InputShape {
  nodes: number;
  perNode: number;
  seed: number;
  /** Node memory in MiB; a smaller figure makes the global N+1 check bite. */
  nodeMemory?: number;
  /**
   * A messier cluster: a second, last-resort group, nodes of three sizes, one offline
   * and one drained node, and one instance in five on local `plain` disks.
   */
  mixed?: boolean;
}

const mulberry32 = (seed: number) => () => {
  let t = (seed += 0x6d2b79f5);
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

const MEMORY_SIZES = [512, 1024, 2048, 4096];
const ISPEC = (memory: number, cpus: number, disk: number, disks: number, nics: number, spindles: number) => ({
  'memory-size': memory, 'cpu-count': cpus, 'disk-size': disk, 'disk-count': disks, 'nic-count': nics, 'spindle-use': spindles,
});
export const GANETI_IPOLICY = {
  minmax: [{ min: ISPEC(128, 1, 1024, 1, 1, 1), max: ISPEC(32768, 8, 1048576, 16, 8, 12) }],
  std: ISPEC(128, 1, 1024, 1, 1, 1),
  'disk-templates': ['sharedfile', 'file', 'plain', 'drbd', 'diskless', 'blockdev', 'ext', 'rbd'],
  'vcpu-ratio': 4.0,
  'spindle-ratio': 32.0,
};

export interface GanetiCluster {
  [key: string]: unknown;
  nodes: Record<string, Record<string, unknown>>;
  instances: Record<string, Record<string, unknown>>;
}
export interface GanetiInput extends GanetiCluster {
  request: Record<string, unknown>;
}

/** The cluster part of a request: groups, nodes and their instances. */
export const ganetiCluster = (shape: InputShape): GanetiCluster => {
  const random = mulberry32(shape.seed);
  const nodeMemory = shape.nodeMemory ?? 65536;
  const nodes: GanetiInput['nodes'] = {};
  const instances: GanetiInput['instances'] = {};
  const width = String(shape.nodes).length;
  for (let n = 0; n < shape.nodes; n++) {
    const name = `node${String(n + 1).padStart(width, '0')}.example.com`;
    const memoryHere = shape.mixed ? nodeMemory * [1, 0.5, 1.5][n % 3]! : nodeMemory;
    const group = shape.mixed && n >= Math.ceil(shape.nodes * 0.7) ? 'group-uuid-2' : 'group-uuid-1';
    let used = 0;
    let usedDisk = 0;
    for (let i = 0; i < shape.perNode; i++) {
      const memory = MEMORY_SIZES[Math.floor(random() * MEMORY_SIZES.length)]!;
      const cpus = 1 + Math.floor(random() * 4);
      const disk = 1024 * (1 + Math.floor(random() * 20));
      const template = shape.mixed && random() < 0.2 ? 'plain' : 'sharedfile';
      if (shape.mixed && used + memory > memoryHere - 2048) continue;
      used += memory;
      if (template === 'plain') usedDisk += disk;
      instances[`inst-${n + 1}-${i + 1}.example.com`] = {
        admin_state: 'up', admin_state_source: 'admin', disk_space_total: disk, disk_template: template,
        disks: [{ mode: 'rw', size: disk, spindles: 1 }], hypervisor: 'xen-pvm', memory, nics: [], nodes: [name],
        os: 'debootstrap', spindle_use: 1, tags: [], vcpus: cpus,
      };
    }
    nodes[name] = {
      drained: shape.mixed === true && n === 1, free_disk: 1048576 - usedDisk, free_memory: memoryHere - used - 1024, free_spindles: 12, group,
      i_pri_memory: used, i_pri_up_memory: used, master_candidate: true, master_capable: true,
      ndparams: { exclusive_storage: false, oob_program: null, spindle_count: 1 }, offline: shape.mixed === true && n === 2,
      primary_ip: `192.0.2.${n % 250}`, reserved_cpus: 1, reserved_memory: 1024, secondary_ip: `198.51.100.${n % 250}`,
      tags: [], total_cpus: 32, total_disk: 1048576, total_memory: memoryHere, total_spindles: 12, vm_capable: true,
    };
  }
  return {
    version: 2, cluster_name: 'bench.example.com', cluster_tags: [], enabled_hypervisors: ['xen-pvm'],
    ipolicy: GANETI_IPOLICY,
    nodegroups: {
      'group-uuid-1': { alloc_policy: 'preferred', ipolicy: GANETI_IPOLICY, name: 'default', networks: [], tags: [] },
      ...(shape.mixed && { 'group-uuid-2': { alloc_policy: 'last_resort', ipolicy: GANETI_IPOLICY, name: 'spare', networks: [], tags: [] } }),
    },
    nodes, instances,
  };
};

export const allocateInput = (shape: InputShape, memory = 2048): GanetiInput => ({
  ...ganetiCluster(shape),
  request: {
    type: 'allocate', name: 'new-instance.example.com', disk_template: 'sharedfile', disk_space_total: 10240,
    disks: [{ mode: 'rw', size: 10240, spindles: 1 }], hypervisor: 'xen-pvm', memory, nics: [], os: 'debootstrap',
    required_nodes: 1, spindle_use: 1, tags: [], vcpus: 2,
  },
});

export const relocateInput = (shape: InputShape): GanetiInput => {
  const cluster = ganetiCluster(shape);
  const name = Object.keys(cluster.instances)[0]!;
  return {
    ...cluster,
    request: { type: 'relocate', name, required_nodes: 1, disk_space_total: (cluster.instances[name]!.disk_space_total as number), relocate_from: cluster.instances[name]!.nodes },
  };
};
