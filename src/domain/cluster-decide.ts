import * as E from 'fp-ts/lib/Either.js';
import type { Either } from 'fp-ts/lib/Either.js';
import {
  type ClusterState,
  type InstanceConfig,
  type NodeConfig,
  findGroup,
  findInstance,
  findNode,
  instancesOnNode,
  instancesUsingPool,
  nodeUsage,
} from './cluster-state.js';
import { DomainError, alreadyExists, invalidArgument, notFound, wrongState } from './errors.js';
import type { ClusterEvent, DiskRecord } from './events.js';
import type { Opcode, OpcodeOf } from './opcodes.js';
import { mobilityDomain } from './mobility.js';
import { fileDiskPath } from './storage-paths.js';
import { rulesFor, whyNot } from './template-rules.js';
import { DTS_PROVISIONED, type DiskTemplate } from './templates.js';

/** What a decision may draw on besides state and opcode: no hidden randomness. */
export interface DecideContext {
  newUuid: () => string;
  /** What the engine saw before deciding a migrate --cleanup (hypervisors asked, disks traced). */
  observed?: CleanupObservation;
}

/** Where an instance runs, by its hypervisors, and where its disks may still be attached. */
export interface CleanupObservation {
  runningOn: string[];
  attachedOn: string[];
}

type Decision = Either<DomainError, ClusterEvent[]>;
const ok = (...events: ClusterEvent[]): Decision => E.right(events);
const refuse = (error: DomainError): Decision => E.left(error);

/**
 * Decides what an opcode does to the cluster configuration: the events to record, or
 * why it is refused. Pure; the engine runs any side effects the events imply.
 */
export const decideCluster = (state: ClusterState, opcode: Opcode, ctx: DecideContext): Decision => {
  if (opcode.type === 'OP_CLUSTER_INIT') return initCluster(state, opcode, ctx);
  if (!state.params) {
    return refuse(wrongState("the cluster is not initialised; run 'opl cluster init NAME' first"));
  }
  switch (opcode.type) {
    case 'OP_CLUSTER_SET_PARAMS':
      return modifyCluster(state, opcode);
    case 'OP_GROUP_ADD':
      if (findGroup(state, opcode.groupName)) return refuse(alreadyExists('node group', opcode.groupName));
      return ok({ type: 'GroupAdded', data: { groupUuid: ctx.newUuid(), groupName: opcode.groupName } });
    case 'OP_GROUP_RENAME':
      return renameGroup(state, opcode);
    case 'OP_GROUP_REMOVE':
      return removeGroup(state, opcode);
    case 'OP_GROUP_SET_PARAMS':
      return modifyGroup(state, opcode);
    case 'OP_NODE_ADD':
      return addNode(state, opcode, ctx);
    case 'OP_NODE_SET_PARAMS':
      return modifyNode(state, opcode);
    case 'OP_NODE_REMOVE':
      return removeNode(state, opcode);
    case 'OP_INSTANCE_CREATE':
      return createInstance(state, opcode, ctx);
    case 'OP_INSTANCE_REMOVE':
      return withInstance(state, opcode.instanceName, (instance) =>
        ok(
          ...(instance.adminState === 'up' ? [stopped(instance)] : []),
          ...(instance.activeDevices.length > 0
            ? [{ type: 'DisksDeactivated' as const, data: { instanceUuid: instance.uuid, nodeUuid: instance.primaryNodeUuid } }]
            : []),
          { type: 'InstanceRemoved', data: { instanceUuid: instance.uuid, instanceName: instance.name } },
        ),
      );
    case 'OP_INSTANCE_STARTUP':
      return startInstance(state, opcode);
    case 'OP_INSTANCE_SHUTDOWN':
      return withInstance(state, opcode.instanceName, (instance) =>
        instance.adminState === 'down' ? ok() : ok(stopped(instance)),
      );
    case 'OP_INSTANCE_SET_PARAMS':
      return modifyInstance(state, opcode);
    case 'OP_INSTANCE_GROW_DISK':
      return growDisk(state, opcode);
    case 'OP_INSTANCE_RENAME':
      return renameInstance(state, opcode);
    case 'OP_INSTANCE_MIGRATE':
      return opcode.cleanup ? cleanUpMigration(state, opcode, ctx.observed) : moveInstance(state, opcode);
    case 'OP_INSTANCE_FAILOVER':
      return moveInstance(state, opcode);
    case 'OP_INSTANCE_ACTIVATE_DISKS':
    case 'OP_INSTANCE_DEACTIVATE_DISKS':
      return withInstance(state, opcode.instanceName, (instance) => {
        const refusal = whyNot(instance.diskTemplate, 'activate-disks');
        if (refusal) return refuse(new DomainError('not_supported', refusal));
        const ids = { instanceUuid: instance.uuid, nodeUuid: instance.primaryNodeUuid };
        if (opcode.type === 'OP_INSTANCE_ACTIVATE_DISKS') {
          // Devices are filled in from what each attach answers.
          return ok({ type: 'DisksActivated', data: { ...ids, devices: instance.disks.map(() => '') } });
        }
        if (instance.adminState === 'up') {
          return refuse(wrongState(`instance '${instance.name}' is running; stop it before deactivating its disks`));
        }
        return instance.activeDevices.length === 0 ? ok() : ok({ type: 'DisksDeactivated', data: ids });
      });
    case 'OP_TEST_DELAY': {
      const missing = opcode.lockInstances.find((name) => !findInstance(state, name));
      return missing === undefined ? ok() : refuse(notFound('instance', missing));
    }
  }
};

const initCluster = (state: ClusterState, op: OpcodeOf<'OP_CLUSTER_INIT'>, ctx: DecideContext): Decision => {
  if (state.params) return refuse(wrongState(`the cluster is already initialised as '${state.params.name}'`));
  return ok({
    type: 'ClusterInitialized',
    data: {
      clusterName: op.clusterName,
      clusterUuid: ctx.newUuid(),
      enabledDiskTemplates: op.enabledDiskTemplates,
      vcpuRatio: op.vcpuRatio,
      ...(op.sharedFileStorageDir !== undefined && { sharedFileStorageDir: op.sharedFileStorageDir }),
      blockdevPrefixes: op.blockdevPrefixes,
      iallocatorTimeoutSeconds: op.iallocatorTimeoutSeconds,
      defaultIallocator: op.defaultIallocator,
    },
  });
};

const modifyCluster = (state: ClusterState, op: OpcodeOf<'OP_CLUSTER_SET_PARAMS'>): Decision => {
  const { type: _type, addPool, removePool, ...params } = op;
  const changes = Object.fromEntries(Object.entries(params).filter(([, v]) => v !== undefined)) as typeof params;
  if (Object.keys(changes).length === 0 && !addPool && !removePool) {
    return refuse(invalidArgument('cluster modify: nothing to change; give at least one parameter'));
  }
  if (op.enabledDiskTemplates) {
    const enabled = new Set(op.enabledDiskTemplates);
    const user = [...state.instances.values()].find((i) => !enabled.has(i.diskTemplate));
    if (user) {
      return refuse(
        new DomainError('in_use', `disk template '${user.diskTemplate}' is still used by instance '${user.name}'`),
      );
    }
  }
  const events: ClusterEvent[] = [];
  if (Object.keys(changes).length > 0) events.push({ type: 'ClusterModified', data: changes });
  if (removePool !== undefined) {
    if (!state.pools.has(removePool)) return refuse(notFound('storage pool', removePool));
    const users = instancesUsingPool(state, removePool).map((i) => i.name);
    if (users.length > 0) {
      return refuse(new DomainError('in_use', `storage pool '${removePool}' is used by instances: ${users.sort().join(', ')}`));
    }
    events.push({ type: 'PoolRemoved', data: { poolName: removePool } });
  }
  if (addPool) {
    if (state.pools.has(addPool.poolName) && addPool.poolName !== removePool) {
      return refuse(alreadyExists('storage pool', addPool.poolName));
    }
    events.push({ type: 'PoolAdded', data: { poolName: addPool.poolName, driver: addPool.driver, params: addPool.params, timeoutSeconds: addPool.timeoutSeconds } });
  }
  return ok(...events);
};

const modifyGroup = (state: ClusterState, op: OpcodeOf<'OP_GROUP_SET_PARAMS'>): Decision => {
  const group = findGroup(state, op.groupName);
  if (!group) return refuse(notFound('node group', op.groupName));
  if (op.connectPool === undefined && op.disconnectPool === undefined) {
    return refuse(invalidArgument('group modify: nothing to change; give --connect-pool or --disconnect-pool'));
  }
  const events: ClusterEvent[] = [];
  if (op.disconnectPool !== undefined) {
    if (!group.pools.includes(op.disconnectPool)) {
      return refuse(wrongState(`storage pool '${op.disconnectPool}' is not connected to node group '${group.name}'`));
    }
    const users = instancesUsingPool(state, op.disconnectPool, group.uuid).map((i) => i.name);
    if (users.length > 0) {
      return refuse(new DomainError('in_use', `instances of node group '${group.name}' still use storage pool '${op.disconnectPool}': ${users.sort().join(', ')}`));
    }
    events.push({ type: 'PoolDisconnected', data: { groupUuid: group.uuid, poolName: op.disconnectPool } });
  }
  if (op.connectPool !== undefined) {
    if (!state.pools.has(op.connectPool)) return refuse(notFound('storage pool', op.connectPool));
    if (group.pools.includes(op.connectPool)) {
      return refuse(wrongState(`storage pool '${op.connectPool}' is already connected to node group '${group.name}'`));
    }
    events.push({ type: 'PoolConnected', data: { groupUuid: group.uuid, poolName: op.connectPool } });
  }
  return ok(...events);
};

const renameGroup = (state: ClusterState, op: OpcodeOf<'OP_GROUP_RENAME'>): Decision => {
  const group = findGroup(state, op.groupName);
  if (!group) return refuse(notFound('node group', op.groupName));
  if (findGroup(state, op.newName)) return refuse(alreadyExists('node group', op.newName));
  return ok({ type: 'GroupRenamed', data: { groupUuid: group.uuid, oldName: group.name, newName: op.newName } });
};

const removeGroup = (state: ClusterState, op: OpcodeOf<'OP_GROUP_REMOVE'>): Decision => {
  const group = findGroup(state, op.groupName);
  if (!group) return refuse(notFound('node group', op.groupName));
  const members = [...state.nodes.values()].filter((n) => n.groupUuid === group.uuid).map((n) => n.name);
  if (members.length > 0) {
    return refuse(new DomainError('in_use', `node group '${group.name}' still has nodes: ${members.join(', ')}`));
  }
  return ok({ type: 'GroupRemoved', data: { groupUuid: group.uuid, groupName: group.name } });
};

const addNode = (state: ClusterState, op: OpcodeOf<'OP_NODE_ADD'>, ctx: DecideContext): Decision => {
  if (findNode(state, op.nodeName)) return refuse(alreadyExists('node', op.nodeName));
  const group = findGroup(state, op.groupName);
  if (!group) return refuse(notFound('node group', op.groupName));
  return ok({
    type: 'NodeAdded',
    data: {
      nodeUuid: ctx.newUuid(),
      nodeName: op.nodeName,
      groupUuid: group.uuid,
      memoryMib: op.memoryMib,
      cpus: op.cpus,
      diskMib: op.diskMib,
    },
  });
};

const modifyNode = (state: ClusterState, op: OpcodeOf<'OP_NODE_SET_PARAMS'>): Decision => {
  const node = findNode(state, op.nodeName);
  if (!node) return refuse(notFound('node', op.nodeName));
  if (op.offline === undefined && op.drained === undefined && op.vmCapable === undefined) {
    return refuse(invalidArgument('node modify: nothing to change; give --offline, --drained or --vm-capable'));
  }
  if (op.offline === true && op.drained === true) {
    return refuse(invalidArgument('node modify: a node is either offline or drained, not both'));
  }
  if (op.offline === true) {
    const running = instancesOnNode(state, node.uuid).find(
      (i) => i.adminState === 'up' && i.primaryNodeUuid === node.uuid,
    );
    if (running) {
      return refuse(wrongState(`node '${node.name}' still runs instance '${running.name}'; stop or move it first`));
    }
  }
  const changes = {
    ...(op.offline !== undefined && { offline: op.offline }),
    ...(op.drained !== undefined && { drained: op.drained }),
    ...(op.vmCapable !== undefined && { vmCapable: op.vmCapable }),
    // Ganeti's node roles are exclusive: going offline ends draining and vice versa.
    ...(op.offline === true && node.drained && { drained: false }),
    ...(op.drained === true && node.offline && { offline: false }),
  };
  return ok({ type: 'NodeModified', data: { nodeUuid: node.uuid, ...changes } });
};

const removeNode = (state: ClusterState, op: OpcodeOf<'OP_NODE_REMOVE'>): Decision => {
  const node = findNode(state, op.nodeName);
  if (!node) return refuse(notFound('node', op.nodeName));
  const hosted = instancesOnNode(state, node.uuid).map((i) => i.name);
  if (hosted.length > 0) {
    return refuse(new DomainError('in_use', `node '${node.name}' still hosts instances: ${hosted.join(', ')}`));
  }
  return ok({ type: 'NodeRemoved', data: { nodeUuid: node.uuid, nodeName: node.name } });
};

const createInstance = (state: ClusterState, op: OpcodeOf<'OP_INSTANCE_CREATE'>, ctx: DecideContext): Decision => {
  const params = state.params!;
  if (findInstance(state, op.instanceName)) return refuse(alreadyExists('instance', op.instanceName));
  if (!DTS_PROVISIONED.has(op.diskTemplate)) {
    return refuse(
      new DomainError('not_supported', `this engine does not provision '${op.diskTemplate}' disks (it provisions ${[...DTS_PROVISIONED].join(', ')})`),
    );
  }
  if (!params.enabledDiskTemplates.includes(op.diskTemplate)) {
    return refuse(
      invalidArgument(
        `disk template '${op.diskTemplate}' is not enabled on this cluster (enabled: ${params.enabledDiskTemplates.join(', ')})`,
      ),
    );
  }
  if (op.primaryNode === undefined) return refuse(invalidArgument('instance add: give the node with -n NODE or -I ALLOCATOR'));
  const node = findNode(state, op.primaryNode);
  if (!node) return refuse(notFound('node', op.primaryNode));
  const unfit = placementProblem(state, node, op.memoryMib, op.vcpus);
  if (unfit) return refuse(unfit);
  const disks = plannedDisks(state, op);
  if (E.isLeft(disks)) return disks;
  const instanceUuid = ctx.newUuid();
  const added: ClusterEvent = {
    type: 'InstanceAdded',
    data: {
      instanceUuid,
      instanceName: op.instanceName,
      diskTemplate: op.diskTemplate,
      primaryNodeUuid: node.uuid,
      secondaryNodeUuids: [],
      memoryMib: op.memoryMib,
      vcpus: op.vcpus,
      hypervisor: 'fake',
      tags: op.tags,
      disks: disks.right,
    },
  };
  return op.start ? ok(added, { type: 'InstanceStarted', data: { instanceUuid, nodeUuid: node.uuid } }) : ok(added);
};

/** The disks an instance of this template gets, or why the requested ones do not fit it. */
const plannedDisks = (state: ClusterState, op: OpcodeOf<'OP_INSTANCE_CREATE'>): Either<DomainError, DiskRecord[]> => {
  const rules = rulesFor(op.diskTemplate);
  const t = op.diskTemplate;
  if (rules.disks === 'none' && op.disks.length > 0) {
    return E.left(invalidArgument(`'${t}' instances have no disks; drop --disk`));
  }
  if (rules.disks !== 'none' && op.disks.length === 0) {
    const example = rules.disks === 'adopted' ? '--disk 0:adopt=PATH' : '--disk 0:size=SIZE';
    return E.left(invalidArgument(`'${t}' instances need at least one disk: ${example}`));
  }
  const disks: DiskRecord[] = [];
  for (const [index, spec] of op.disks.entries()) {
    if (rules.disks === 'sized' && (spec.sizeMib === undefined || spec.adopt !== undefined)) {
      return E.left(invalidArgument(`disk ${index}: '${t}' disks are created to a size: give size=, not adopt=`));
    }
    if (rules.disks === 'adopted' && (spec.adopt === undefined || spec.sizeMib !== undefined)) {
      return E.left(invalidArgument(`disk ${index}: '${t}' disks are adopted devices: give adopt=PATH, not size=`));
    }
    if (t === 'blockdev') {
      const problem = adoptionProblem(state, spec.adopt!, index);
      if (problem) return E.left(problem);
      // The size is read from the device when it is adopted.
      disks.push({ index, sizeMib: 0, logicalId: spec.adopt!, params: spec.params, adopted: true });
      continue;
    }
    if (t === 'ext') {
      const problem = poolProblem(state, spec.pool, op.primaryNode!, index);
      if (problem) return E.left(problem);
      // The driver names the disk when it creates it; the engine fills this in.
      disks.push({ index, sizeMib: spec.sizeMib ?? 0, logicalId: '', pool: spec.pool!, params: spec.params, adopted: false });
      continue;
    }
    const logicalId = diskLogicalId(state, t, op.instanceName, index);
    if (E.isLeft(logicalId)) return logicalId;
    disks.push({ index, sizeMib: spec.sizeMib ?? 0, logicalId: logicalId.right, params: spec.params, adopted: rules.disks === 'adopted' });
  }
  return E.right(disks);
};

/** Why a device may not be adopted: outside the allowed prefixes, or someone else's already. */
const adoptionProblem = (state: ClusterState, path: string, index: number): DomainError | undefined => {
  if (!path.startsWith('/') || path.split('/').some((c) => c === '..' || c === '.') || path.includes('\0')) {
    return invalidArgument(`disk ${index}: adopt='${path}' must be an absolute path without . or .. components`);
  }
  const prefixes = state.params!.blockdevPrefixes;
  if (!prefixes.some((p) => path.startsWith(`${p.replace(/\/+$/, '')}/`))) {
    return invalidArgument(`disk ${index}: '${path}' is not under an allowed block device prefix (${prefixes.join(', ')}); see 'opl cluster modify --blockdev-prefixes'`);
  }
  const owner = [...state.instances.values()].find((i) => i.disks.some((d) => d.adopted && d.logicalId === path));
  if (owner) return new DomainError('in_use', `disk ${index}: '${path}' is already adopted by instance '${owner.name}'`);
  return undefined;
};

/** Why disk `index` cannot live in `pool` for an instance on `nodeName`, if it cannot. */
const poolProblem = (state: ClusterState, pool: string | undefined, nodeName: string, index: number): DomainError | undefined => {
  if (pool === undefined) return invalidArgument(`disk ${index}: 'ext' disks need a pool: -t ext:POOL or --disk ${index}:size=SIZE,pool=POOL`);
  if (!state.pools.has(pool)) return notFound('storage pool', pool);
  const node = findNode(state, nodeName);
  const group = node && state.groups.get(node.groupUuid);
  if (group && !group.pools.includes(pool)) {
    return wrongState(`storage pool '${pool}' is not connected to node group '${group.name}' of node '${nodeName}'; connect it with 'opl group modify ${group.name} --connect-pool ${pool}'`);
  }
  return undefined;
};

/**
 * Where a file-backed disk lives. `file` disks are relative to each node's own file
 * storage directory; `sharedfile` disks are absolute paths under the shared mountpoint.
 */
export const diskLogicalId = (
  state: ClusterState,
  template: DiskTemplate,
  instanceName: string,
  index: number,
): Either<DomainError, string> => {
  if (template === 'sharedfile') {
    const dir = state.params?.sharedFileStorageDir;
    if (!dir) {
      return E.left(wrongState("the cluster has no shared file storage directory; set one with 'opl cluster modify --shared-file-storage-dir PATH'"));
    }
    return fileDiskPath(dir, instanceName, index);
  }
  if (template === 'file') {
    return E.map((path: string) => path.slice(1))(fileDiskPath('/', instanceName, index));
  }
  return E.left(new DomainError('not_supported', `this engine does not provision '${template}' disks`));
};

const growDisk = (state: ClusterState, op: OpcodeOf<'OP_INSTANCE_GROW_DISK'>): Decision =>
  withInstance(state, op.instanceName, (instance) => {
    const refusal = whyNot(instance.diskTemplate, 'grow-disk');
    if (refusal) return refuse(new DomainError('not_supported', refusal));
    const disk = instance.disks[op.diskIndex];
    if (!disk) {
      return refuse(new DomainError('not_found', `instance '${instance.name}' has no disk ${op.diskIndex} (it has ${instance.disks.length})`));
    }
    const size = op.absolute ? op.amountMib : disk.sizeMib + op.amountMib;
    if (size <= disk.sizeMib) {
      return refuse(invalidArgument(`disks only grow: disk ${op.diskIndex} of '${instance.name}' is ${disk.sizeMib} MiB, ${size} MiB asked`));
    }
    return ok({ type: 'DiskGrown', data: { instanceUuid: instance.uuid, index: op.diskIndex, sizeMib: size } });
  });

const moveInstance = (state: ClusterState, op: OpcodeOf<'OP_INSTANCE_MIGRATE'> | OpcodeOf<'OP_INSTANCE_FAILOVER'>): Decision =>
  withInstance(state, op.instanceName, (instance) => {
    const migrate = op.type === 'OP_INSTANCE_MIGRATE';
    const refusal = whyNot(instance.diskTemplate, migrate ? 'migrate' : 'failover');
    if (refusal) return refuse(new DomainError('not_supported', refusal));
    if (migrate && instance.adminState !== 'up') {
      return refuse(wrongState(`instance '${instance.name}' is not running; move a stopped instance with 'opl instance failover'`));
    }
    if (op.targetNode === undefined) {
      return refuse(invalidArgument(`${migrate ? 'migrate' : 'failover'}: give the target with -n NODE or -I ALLOCATOR`));
    }
    const target = findNode(state, op.targetNode);
    if (!target) return refuse(notFound('node', op.targetNode));
    const candidacy = mobilityDomain(state, instance).find((c) => c.node === target.name)!;
    if (!candidacy.candidate) {
      return refuse(wrongState(`node '${target.name}' is not in the mobility domain of '${instance.name}': ${candidacy.reason}`));
    }
    const unfit = placementProblem(state, target, instance.memoryMib, instance.vcpus);
    if (unfit) return refuse(unfit);
    const source = state.nodes.get(instance.primaryNodeUuid)!;
    if (migrate && source.offline) {
      return refuse(wrongState(`node '${source.name}' is offline, so '${instance.name}' cannot migrate live; use 'opl instance failover'`));
    }
    const how = !migrate ? 'failover' : op.live ? 'live-migration' : 'non-live-migration';
    return ok({
      type: 'InstanceMoved',
      data: {
        instanceUuid: instance.uuid,
        fromNodeUuid: source.uuid,
        toNodeUuid: target.uuid,
        how,
        running: instance.adminState === 'up',
        sourceOffline: source.offline,
        ignoreSourceFailures: op.type === 'OP_INSTANCE_FAILOVER' && op.ignoreConsistency,
      },
    });
  });

/**
 * Ganeti's `migrate --cleanup`, after a move that failed or was left half-done: the
 * instance's record is made to agree with where it runs, and whatever runs or is
 * attached elsewhere is let go of. Running on one node other than its primary means
 * the move happened and was not recorded: it is recorded now.
 */
const cleanUpMigration = (state: ClusterState, op: OpcodeOf<'OP_INSTANCE_MIGRATE'>, observed: CleanupObservation | undefined): Decision =>
  withInstance(state, op.instanceName, (instance) => {
    const refusal = whyNot(instance.diskTemplate, 'migrate');
    if (refusal) return refuse(new DomainError('not_supported', refusal));
    if (op.targetNode !== undefined || op.iallocator !== undefined) return refuse(invalidArgument('migrate --cleanup moves nothing: give neither -n nor -I'));
    if (!observed) return refuse(invalidArgument('migrate --cleanup needs the engine to look at the nodes first'));
    const primary = state.nodes.get(instance.primaryNodeUuid)!;
    const uuidOf = (name: string) => findNode(state, name)?.uuid;
    const elsewhere = observed.runningOn.filter((n) => n !== primary.name);
    if (elsewhere.length > 1 && !observed.runningOn.includes(primary.name)) {
      return refuse(wrongState(`instance '${instance.name}' runs on ${elsewhere.join(' and ')}, neither its primary '${primary.name}'; stop it by hand on all but one, then run --cleanup again`));
    }
    const movedTo = !observed.runningOn.includes(primary.name) && elsewhere.length === 1 ? findNode(state, elsewhere[0]!) : undefined;
    const keep = movedTo?.name ?? primary.name;
    const strays = [...new Set([...observed.runningOn, ...observed.attachedOn])].filter((n) => n !== keep && n !== primary.name).sort();
    const events: ClusterEvent[] = [];
    if (movedTo) {
      events.push({
        type: 'InstanceMoved',
        data: { instanceUuid: instance.uuid, fromNodeUuid: primary.uuid, toNodeUuid: movedTo.uuid, how: 'live-migration', running: true, sourceOffline: primary.offline, ignoreSourceFailures: primary.offline },
      });
    }
    const strayUuids = strays.map(uuidOf).filter((u): u is string => u !== undefined);
    if (strayUuids.length > 0) events.push({ type: 'InstanceCleanedUp', data: { instanceUuid: instance.uuid, nodeUuids: strayUuids } });
    if (events.length === 0 && instance.adminState === 'up' && !observed.runningOn.includes(primary.name)) {
      return refuse(wrongState(`instance '${instance.name}' runs on no node; start it with 'opl instance start ${instance.name}'`));
    }
    return E.right(events);
  });

const renameInstance = (state: ClusterState, op: OpcodeOf<'OP_INSTANCE_RENAME'>): Decision =>
  withInstance(state, op.instanceName, (instance) => {
    if (findInstance(state, op.newName)) return refuse(alreadyExists('instance', op.newName));
    if (instance.adminState === 'up') {
      return refuse(wrongState(`instance '${instance.name}' is running; stop it before renaming it`));
    }
    const logicalIds: string[] = [];
    for (const disk of instance.disks) {
      if (instance.activeDevices.length > 0) {
        return refuse(wrongState(`instance '${instance.name}' has active disks; deactivate them before renaming it`));
      }
      // Adopted devices keep their path; a driver's rename prints the new id itself.
      if (disk.adopted || instance.diskTemplate === 'ext') {
        logicalIds.push(disk.logicalId);
        continue;
      }
      const id = diskLogicalId(state, instance.diskTemplate, op.newName, disk.index);
      if (E.isLeft(id)) return id;
      logicalIds.push(id.right);
    }
    return ok({ type: 'InstanceRenamed', data: { instanceUuid: instance.uuid, oldName: instance.name, newName: op.newName, logicalIds } });
  });

/** Why a node cannot take this much more, or undefined if it can. */
export const placementProblem = (
  state: ClusterState,
  node: NodeConfig,
  memoryMib: number,
  vcpus: number,
): DomainError | undefined => {
  if (node.offline) return wrongState(`node '${node.name}' is offline`);
  if (node.drained) return wrongState(`node '${node.name}' is drained and takes no new instances`);
  if (!node.vmCapable) return wrongState(`node '${node.name}' is not vm-capable`);
  const used = nodeUsage(state, node.uuid);
  const free = node.memoryMib - used.memoryMib;
  if (memoryMib > free) {
    return new DomainError(
      'insufficient_resources',
      `node '${node.name}' has ${free} MiB of memory free, ${memoryMib} MiB needed`,
    );
  }
  const vcpuLimit = Math.floor(node.cpus * state.params!.vcpuRatio);
  if (used.vcpus + vcpus > vcpuLimit) {
    return new DomainError(
      'insufficient_resources',
      `node '${node.name}' would carry ${used.vcpus + vcpus} vcpus, more than its limit of ${vcpuLimit} (${node.cpus} cpus × vcpu-ratio ${state.params!.vcpuRatio})`,
    );
  }
  return undefined;
};

const startInstance = (state: ClusterState, op: OpcodeOf<'OP_INSTANCE_STARTUP'>): Decision =>
  withInstance(state, op.instanceName, (instance) => {
    if (instance.adminState === 'up') return ok();
    const node = state.nodes.get(instance.primaryNodeUuid);
    if (!node || node.offline) {
      return refuse(wrongState(`instance '${instance.name}' cannot start: its primary node is offline`));
    }
    return ok({ type: 'InstanceStarted', data: { instanceUuid: instance.uuid, nodeUuid: node.uuid } });
  });

const modifyInstance = (state: ClusterState, op: OpcodeOf<'OP_INSTANCE_SET_PARAMS'>): Decision =>
  withInstance(state, op.instanceName, (instance) => {
    if (op.memoryMib === undefined && op.vcpus === undefined && op.tags === undefined) {
      return refuse(invalidArgument('instance modify: nothing to change; give --memory, --vcpus or --tags'));
    }
    const node = state.nodes.get(instance.primaryNodeUuid)!;
    const used = nodeUsage(state, node.uuid);
    const extraMemory = (op.memoryMib ?? instance.memoryMib) - instance.memoryMib;
    if (extraMemory > 0 && extraMemory > node.memoryMib - used.memoryMib) {
      return refuse(
        new DomainError(
          'insufficient_resources',
          `node '${node.name}' has ${node.memoryMib - used.memoryMib} MiB of memory free, ${extraMemory} MiB more needed`,
        ),
      );
    }
    const extraVcpus = (op.vcpus ?? instance.vcpus) - instance.vcpus;
    const vcpuLimit = Math.floor(node.cpus * state.params!.vcpuRatio);
    if (extraVcpus > 0 && used.vcpus + extraVcpus > vcpuLimit) {
      return refuse(
        new DomainError('insufficient_resources', `node '${node.name}' would exceed its limit of ${vcpuLimit} vcpus`),
      );
    }
    return ok({
      type: 'InstanceModified',
      data: {
        instanceUuid: instance.uuid,
        ...(op.memoryMib !== undefined && { memoryMib: op.memoryMib }),
        ...(op.vcpus !== undefined && { vcpus: op.vcpus }),
        ...(op.tags !== undefined && { tags: op.tags }),
      },
    });
  });

const withInstance = (state: ClusterState, name: string, then: (i: InstanceConfig) => Decision): Decision => {
  const instance = findInstance(state, name);
  return instance ? then(instance) : refuse(notFound('instance', name));
};

const stopped = (instance: InstanceConfig): ClusterEvent => ({
  type: 'InstanceStopped',
  data: { instanceUuid: instance.uuid, nodeUuid: instance.primaryNodeUuid },
});
