import { DEFAULT_ENABLED_HYPERVISORS } from './hypervisors.js';
import type { ClusterEvent } from './events.js';
import { DEFAULT_BLOCKDEV_PREFIXES, emptyClusterState, localDiskMib, type ClusterState, type NodeUsage } from './cluster-state.js';
import { BUILTIN_IALLOCATOR } from './templates.js';
import { beginSaga, endSaga } from './saga-holds.js';

/**
 * Folds one `cluster` event into the state. The fold owns its accumulator: the state
 * is updated in place and returned, because replaying a million events must not copy
 * every map once per event. Callers that need an untouched copy replay into a fresh
 * state.
 */
export const evolveCluster = (state: ClusterState, event: ClusterEvent, revision: bigint): ClusterState => {
  state.revision = revision;
  state.serial += 1;
  switch (event.type) {
    case 'ClusterInitialized': {
      const d = event.data;
      state.params = {
        name: d.clusterName,
        uuid: d.clusterUuid,
        enabledDiskTemplates: d.enabledDiskTemplates,
        vcpuRatio: d.vcpuRatio,
        enabledHypervisors: d.enabledHypervisors ?? DEFAULT_ENABLED_HYPERVISORS,
        tags: [],
        blockdevPrefixes: d.blockdevPrefixes ?? DEFAULT_BLOCKDEV_PREFIXES,
        iallocatorTimeoutSeconds: d.iallocatorTimeoutSeconds ?? 60,
        defaultIallocator: d.defaultIallocator ?? BUILTIN_IALLOCATOR,
        ...(d.sharedFileStorageDir !== undefined && { sharedFileStorageDir: d.sharedFileStorageDir }),
        ...(d.oobProgram && { oobProgram: d.oobProgram }),
      };
      return state;
    }
    case 'ClusterModified': {
      if (!state.params) return state;
      const d = event.data;
      if (d.enabledDiskTemplates) state.params.enabledDiskTemplates = d.enabledDiskTemplates;
      if (d.vcpuRatio !== undefined) state.params.vcpuRatio = d.vcpuRatio;
      if (d.enabledHypervisors) state.params.enabledHypervisors = d.enabledHypervisors;
      if (d.tags) state.params.tags = d.tags;
      if (d.sharedFileStorageDir !== undefined) state.params.sharedFileStorageDir = d.sharedFileStorageDir;
      if (d.blockdevPrefixes !== undefined) state.params.blockdevPrefixes = d.blockdevPrefixes;
      if (d.iallocatorTimeoutSeconds !== undefined) state.params.iallocatorTimeoutSeconds = d.iallocatorTimeoutSeconds;
      if (d.defaultIallocator !== undefined) state.params.defaultIallocator = d.defaultIallocator;
      if (d.oobProgram === '') delete state.params.oobProgram;
      else if (d.oobProgram !== undefined) state.params.oobProgram = d.oobProgram;
      return state;
    }
    case 'ClusterDestroyed': {
      // Nodes and instances were gone already; groups and pools go with the cluster.
      const fresh = emptyClusterState();
      Object.assign(state, { ...fresh, revision: state.revision, serial: state.serial });
      return state;
    }
    case 'PoolAdded': {
      const d = event.data;
      state.pools.set(d.poolName, { name: d.poolName, driver: d.driver, params: d.params, timeoutSeconds: d.timeoutSeconds, ...(d.driverDir !== undefined && { driverDir: d.driverDir }) });
      return state;
    }
    case 'PoolModified': {
      const d = event.data;
      const pool = state.pools.get(d.poolName);
      if (!pool) return state;
      if (d.driverDir !== undefined) pool.driverDir = d.driverDir;
      if (d.timeoutSeconds !== undefined) pool.timeoutSeconds = d.timeoutSeconds;
      return state;
    }
    case 'PoolRemoved':
      state.pools.delete(event.data.poolName);
      for (const group of state.groups.values()) group.pools = group.pools.filter((p) => p !== event.data.poolName);
      return state;
    case 'PoolConnected':
    case 'PoolDisconnected': {
      const group = state.groups.get(event.data.groupUuid);
      if (!group) return state;
      group.pools = group.pools.filter((p) => p !== event.data.poolName);
      if (event.type === 'PoolConnected') group.pools.push(event.data.poolName);
      return state;
    }
    case 'GroupAdded':
      state.groups.set(event.data.groupUuid, { uuid: event.data.groupUuid, name: event.data.groupName, pools: [] });
      state.groupByName.set(event.data.groupName, event.data.groupUuid);
      return state;
    case 'GroupRenamed': {
      const group = state.groups.get(event.data.groupUuid);
      if (group) group.name = event.data.newName;
      state.groupByName.delete(event.data.oldName);
      state.groupByName.set(event.data.newName, event.data.groupUuid);
      return state;
    }
    case 'GroupRemoved':
      state.groups.delete(event.data.groupUuid);
      state.groupByName.delete(event.data.groupName);
      return state;
    case 'NodeAdded': {
      const d = event.data;
      state.nodes.set(d.nodeUuid, {
        uuid: d.nodeUuid,
        name: d.nodeName,
        groupUuid: d.groupUuid,
        memoryMib: d.memoryMib,
        cpus: d.cpus,
        diskMib: d.diskMib,
        offline: false,
        drained: false,
        vmCapable: true,
        ...(d.address && { address: d.address }),
        ...(d.reported && { reported: d.reported }),
      });
      state.nodeByName.set(d.nodeName, d.nodeUuid);
      return state;
    }
    case 'NodeModified': {
      const node = state.nodes.get(event.data.nodeUuid);
      if (!node) return state;
      const d = event.data;
      if (d.offline !== undefined) node.offline = d.offline;
      if (d.drained !== undefined) node.drained = d.drained;
      if (d.vmCapable !== undefined) node.vmCapable = d.vmCapable;
      if (d.oobProgram === '') delete node.oobProgram;
      else if (d.oobProgram !== undefined) node.oobProgram = d.oobProgram;
      if (d.powered !== undefined) node.powered = d.powered;
      return state;
    }
    case 'NodePowered': {
      const node = state.nodes.get(event.data.nodeUuid);
      if (!node) return state;
      // Ganeti's node.powered; a node powered off is offline, whoever asked.
      node.powered = event.data.command !== 'power-off';
      // Offline ends draining, as node modify's roles do.
      if (!node.powered) Object.assign(node, { offline: true, drained: false });
      return state;
    }
    case 'NodeRemoved':
      state.nodes.delete(event.data.nodeUuid);
      state.nodeByName.delete(event.data.nodeName);
      state.usage.delete(event.data.nodeUuid);
      return state;
    case 'InstanceAdded': {
      const d = event.data;
      state.instances.set(d.instanceUuid, {
        uuid: d.instanceUuid,
        name: d.instanceName,
        diskTemplate: d.diskTemplate,
        primaryNodeUuid: d.primaryNodeUuid,
        secondaryNodeUuids: d.secondaryNodeUuids,
        memoryMib: d.memoryMib,
        vcpus: d.vcpus,
        hypervisor: d.hypervisor,
        ...(d.hypervisorParams && { hypervisorParams: d.hypervisorParams }),
        tags: d.tags,
        adminState: 'down',
        disks: d.disks,
        activeDevices: [],
      });
      state.instanceByName.set(d.instanceName, d.instanceUuid);
      reserve(state, d.primaryNodeUuid, { memoryMib: d.memoryMib, vcpus: d.vcpus, instances: 1, diskMib: localDiskMib(d) });
      return state;
    }
    case 'InstanceRemoved': {
      const instance = state.instances.get(event.data.instanceUuid);
      if (instance) {
        reserve(state, instance.primaryNodeUuid, {
          memoryMib: -instance.memoryMib,
          vcpus: -instance.vcpus,
          instances: -1,
          diskMib: -localDiskMib(instance),
        });
      }
      state.instances.delete(event.data.instanceUuid);
      state.instanceByName.delete(event.data.instanceName);
      return state;
    }
    case 'DiskGrown': {
      const instance = state.instances.get(event.data.instanceUuid);
      const disk = instance?.disks[event.data.index];
      if (!instance || !disk) return state;
      const before = localDiskMib(instance);
      disk.sizeMib = event.data.sizeMib;
      reserve(state, instance.primaryNodeUuid, { memoryMib: 0, vcpus: 0, instances: 0, diskMib: localDiskMib(instance) - before });
      return state;
    }
    case 'InstanceRenamed': {
      const instance = state.instances.get(event.data.instanceUuid);
      if (!instance) return state;
      instance.name = event.data.newName;
      instance.disks.forEach((disk, i) => {
        disk.logicalId = event.data.logicalIds[i] ?? disk.logicalId;
      });
      state.instanceByName.delete(event.data.oldName);
      state.instanceByName.set(event.data.newName, instance.uuid);
      return state;
    }
    case 'InstanceMoved': {
      const instance = state.instances.get(event.data.instanceUuid);
      if (!instance) return state;
      // Local disks cannot move (the decider refuses), but the count follows the primary regardless.
      const load = { memoryMib: instance.memoryMib, vcpus: instance.vcpus, instances: 1, diskMib: localDiskMib(instance) };
      reserve(state, event.data.fromNodeUuid, { memoryMib: -load.memoryMib, vcpus: -load.vcpus, instances: -1, diskMib: -load.diskMib });
      reserve(state, event.data.toNodeUuid, load);
      instance.primaryNodeUuid = event.data.toNodeUuid;
      instance.activeDevices = [];
      return state;
    }
    case 'InstanceCleanedUp':
      // The configuration was right; only the world was brought back in line with it.
      return state;
    case 'DisksActivated':
    case 'DisksDeactivated': {
      const instance = state.instances.get(event.data.instanceUuid);
      if (instance) instance.activeDevices = event.type === 'DisksActivated' ? event.data.devices : [];
      return state;
    }
    case 'InstanceStarted':
    case 'InstanceStopped': {
      const instance = state.instances.get(event.data.instanceUuid);
      if (instance) instance.adminState = event.type === 'InstanceStarted' ? 'up' : 'down';
      return state;
    }
    case 'SagaBegun':
      beginSaga(state, event.data);
      return state;
    case 'SagaCompleted':
      endSaga(state, event.data.sagaId);
      return state;
    case 'SagaUndone':
      endSaga(state, event.data.sagaId);
      for (const owed of event.data.owed ?? []) state.owedUndos.set(owed.id, owed);
      return state;
    case 'OwedUndosSettled':
      for (const id of event.data.ids) state.owedUndos.delete(id);
      return state;
    case 'InstanceModified': {
      const instance = state.instances.get(event.data.instanceUuid);
      if (!instance) return state;
      const d = event.data;
      const memoryDelta = d.memoryMib === undefined ? 0 : d.memoryMib - instance.memoryMib;
      const vcpuDelta = d.vcpus === undefined ? 0 : d.vcpus - instance.vcpus;
      if (memoryDelta !== 0 || vcpuDelta !== 0) {
        reserve(state, instance.primaryNodeUuid, { memoryMib: memoryDelta, vcpus: vcpuDelta, instances: 0, diskMib: 0 });
      }
      if (d.memoryMib !== undefined) instance.memoryMib = d.memoryMib;
      if (d.vcpus !== undefined) instance.vcpus = d.vcpus;
      if (d.tags) instance.tags = d.tags;
      if (d.hypervisorParams) instance.hypervisorParams = d.hypervisorParams;
      return state;
    }
  }
};

const reserve = (state: ClusterState, nodeUuid: string, delta: NodeUsage): void => {
  const usage = state.usage.get(nodeUuid) ?? { memoryMib: 0, vcpus: 0, instances: 0, diskMib: 0 };
  usage.memoryMib += delta.memoryMib;
  usage.diskMib += delta.diskMib;
  usage.vcpus += delta.vcpus;
  usage.instances += delta.instances;
  state.usage.set(nodeUuid, usage);
};
