import type { GanetiInput } from './ganeti-inputs.js';

/**
 * The request's cluster after an allocator's answer: the new instance added on (or
 * the relocated one moved to) the chosen node, its memory taken from that node's free
 * memory, as Ganeti would report the cluster next. `hbal -I` scores the result.
 */
export const applyPlacement = (input: GanetiInput, node: string): GanetiInput => {
  const next = structuredClone(input);
  const request = next.request;
  const target = next.nodes[node];
  if (!target) throw new Error(`the answer names node ${node}, which is not in the request`);
  const take = (n: Record<string, unknown>, memory: number) => {
    n.free_memory = (n.free_memory as number) - memory;
    n.i_pri_memory = ((n.i_pri_memory as number | undefined) ?? 0) + memory;
    n.i_pri_up_memory = ((n.i_pri_up_memory as number | undefined) ?? 0) + memory;
  };
  if (request.type === 'allocate') {
    next.instances[request.name as string] = {
      admin_state: 'up', admin_state_source: 'admin', disk_space_total: request.disk_space_total, disk_template: request.disk_template,
      disks: request.disks, hypervisor: request.hypervisor, memory: request.memory, nics: [], nodes: [node], os: request.os,
      spindle_use: request.spindle_use, tags: [], vcpus: request.vcpus,
    };
    take(target, request.memory as number);
  } else {
    const instance = next.instances[request.name as string]!;
    const from = next.nodes[(instance.nodes as string[])[0]!]!;
    take(from, -(instance.memory as number));
    take(target, instance.memory as number);
    instance.nodes = [node];
  }
  // The request stays: `hbal -I` reads an iallocator input and wants one there.
  return next;
};
