import type { ClusterState, InstanceConfig, NodeConfig } from './cluster-state.js';
import type { HypervisorName } from './hypervisors.js';
import { rulesFor } from './template-rules.js';
import { DTS_EXT_MIRROR, DTS_INT_MIRROR, DTS_LOCAL, type DiskTemplate } from './templates.js';

/** One node, and whether an instance could move there, with the reason in words. */
export interface Candidacy {
  node: string;
  group: string;
  candidate: boolean;
  reason: string;
}

/**
 * The groups whose nodes reach an instance's storage. Externally mirrored storage
 * defines this by what it is: a shared file system is mounted on every node, an
 * adopted LUN is seen by its group, a pool by the groups connected to it.
 */
export const reachableGroups = (state: ClusterState, instance: InstanceConfig): Set<string> => {
  const all = new Set(state.groups.keys());
  const own = state.nodes.get(instance.primaryNodeUuid)?.groupUuid;
  switch (instance.diskTemplate) {
    case 'diskless':
    case 'sharedfile':
      return all;
    case 'blockdev':
      return new Set(own ? [own] : []);
    case 'ext': {
      const pools = new Set(instance.disks.map((d) => d.pool).filter((p): p is string => p !== undefined));
      return new Set([...state.groups.values()].filter((g) => [...pools].every((p) => g.pools.includes(p))).map((g) => g.uuid));
    }
    default:
      return new Set(own ? [own] : []);
  }
};

const nodeProblem = (node: NodeConfig): string | undefined => {
  if (node.offline) return 'offline';
  if (node.drained) return 'drained';
  if (!node.vmCapable) return 'not vm-capable';
  return undefined;
};

/** Every node of the cluster with whether it is in the instance's mobility domain, and why. */
export const mobilityDomain = (state: ClusterState, instance: InstanceConfig): Candidacy[] => {
  const t = instance.diskTemplate;
  const groups = DTS_EXT_MIRROR.has(t) ? reachableGroups(state, instance) : new Set<string>();
  return [...state.nodes.values()]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((node) => {
      const group = state.groups.get(node.groupUuid)?.name ?? node.groupUuid;
      const no = (reason: string): Candidacy => ({ node: node.name, group, candidate: false, reason });
      if (node.uuid === instance.primaryNodeUuid) return no('its current primary node');
      if (DTS_LOCAL.has(t)) return no(`'${t}' disks live on its primary node only`);
      if (DTS_INT_MIRROR.has(t) && !instance.secondaryNodeUuids.includes(node.uuid)) return no(`not its secondary ('${t}' moves only to its secondary)`);
      if (DTS_EXT_MIRROR.has(t) && !groups.has(node.groupUuid)) {
        return no(t === 'ext' ? `group '${group}' is not connected to pool ${instance.disks.map((d) => d.pool).filter(Boolean).join(', ')}` : `group '${group}' does not reach its '${t}' storage`);
      }
      const problem = nodeProblem(node);
      if (problem) return no(`node is ${problem}`);
      // So allocators are offered only nodes that can run it: QEMU runs under a node's opl-noded.
      if (instance.hypervisor === 'kvm' && !node.address) return no('a local node (no opl-noded): it runs no kvm guests');
      return { node: node.name, group, candidate: true, reason: rulesFor(t).moveTargets === 'secondary' ? 'its secondary' : `group '${group}' reaches its storage` };
    });
};

/**
 * Where a new instance could be placed: online, undrained, vm-capable nodes of the
 * groups that reach the storage its template and pools need (for a kvm guest, nodes
 * with opl-noded).
 */
export const placementDomain = (state: ClusterState, template: DiskTemplate, pools: readonly string[], hypervisor?: HypervisorName): string[] =>
  [...state.nodes.values()]
    .filter((n) => !nodeProblem(n))
    .filter((n) => hypervisor !== 'kvm' || n.address !== undefined)
    .filter((n) => template !== 'ext' || pools.every((p) => state.groups.get(n.groupUuid)?.pools.includes(p)))
    .map((n) => n.name)
    .sort();

export const candidates = (state: ClusterState, instance: InstanceConfig): string[] =>
  mobilityDomain(state, instance).filter((c) => c.candidate).map((c) => c.node);
