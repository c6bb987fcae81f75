import type { ClusterState, InstanceConfig } from '../../domain/cluster-state.js';
import type { DiskRecord } from '../../domain/events.js';
import type { DiskTarget } from '../../domain/ports/disk-storage.js';
import type { HypervisorInstance } from '../../domain/ports/hypervisor.js';

/** What a saga needs to know of an instance, whether it is in the configuration yet or being created. */
export type InstanceLike = Pick<InstanceConfig, 'name' | 'uuid' | 'tags' | 'memoryMib' | 'vcpus' | 'diskTemplate' | 'primaryNodeUuid' | 'disks'> & Partial<Pick<InstanceConfig, 'hypervisor' | 'hypervisorParams'>>;

/** What the node's hypervisor is asked to run; which hypervisor is said only when it is not the fake one (as calls made before kvm were). */
export const hvInstance = (i: InstanceLike): HypervisorInstance => ({ name: i.name, uuid: i.uuid, memoryMib: i.memoryMib, vcpus: i.vcpus, ...(i.hypervisor && i.hypervisor !== 'fake' && { hypervisor: i.hypervisor }), ...(i.hypervisorParams && Object.keys(i.hypervisorParams).length > 0 && { hvParams: i.hypervisorParams }) });

export const nodeName = (state: ClusterState, uuid: string): string | undefined => state.nodes.get(uuid)?.name;

/** A disk as the storage sees it on one node (the primary unless said), with its pool and the group's peers. */
export const diskTarget = (state: ClusterState, i: InstanceLike, disk: DiskRecord, onNode = i.primaryNodeUuid): DiskTarget | undefined => {
  const node = nodeName(state, onNode);
  const primary = state.nodes.get(i.primaryNodeUuid);
  if (!node || !primary) return undefined;
  const pool = disk.pool === undefined ? undefined : state.pools.get(disk.pool);
  const peers = [...state.nodes.values()].filter((n) => n.groupUuid === primary.groupUuid && !n.offline).map((n) => n.name).sort();
  return { nodeName: node, template: i.diskTemplate, instance: { name: i.name, uuid: i.uuid, tags: i.tags }, disk, peers, ...(pool && { pool }) };
};

/** A kvm guest is given its disks as the node's attach answered them (the steps before, in order); the fake one needs none. */
export const withDisks = (hv: HypervisorInstance, attached: readonly ({ device?: string } | undefined)[]): HypervisorInstance => {
  const disks = attached.map((o) => o?.device).filter((d): d is string => d !== undefined);
  return hv.hypervisor === 'kvm' && disks.length ? { ...hv, disks } : hv;
};
