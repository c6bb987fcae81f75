import * as E from 'fp-ts/lib/Either.js';
import { type ClusterState, findInstance, findNode, localDiskMib, nodeUsage } from '../cluster-state.js';
import { alreadyExists, insufficientResources, invalidArgument, notFound, notSupported, wrongState } from '../errors.js';
import type { ClusterEvent } from '../events.js';
import type { OpcodeOf } from '../opcodes.js';
import { DTS_PROVISIONED } from '../templates.js';
import { bootsFromDisk, checkHvParams, modifiedHvParams } from '../hv-params.js';
import { whyNot } from '../template-rules.js';
import { diskLogicalId, plannedDisks } from './instance-disks.js';
import { type DecideContext, type Decision, localDiskProblem, ok, placementProblem, refuse, stopped, withInstance } from './shared.js';

export const decideInstanceCreate = (state: ClusterState, op: OpcodeOf<'OP_INSTANCE_CREATE'>, ctx: DecideContext): Decision => {
  const params = state.params!;
  if (findInstance(state, op.instanceName)) return refuse(alreadyExists('instance', op.instanceName));
  if (!DTS_PROVISIONED.has(op.diskTemplate)) {
    return refuse(notSupported(`this engine does not provision '${op.diskTemplate}' disks (it provisions ${[...DTS_PROVISIONED].join(', ')})`));
  }
  if (!params.enabledDiskTemplates.includes(op.diskTemplate)) {
    return refuse(
      invalidArgument(`disk template '${op.diskTemplate}' is not enabled on this cluster (enabled: ${params.enabledDiskTemplates.join(', ')})`),
    );
  }
  const hypervisor = op.hypervisor ?? params.enabledHypervisors[0]!;
  if (!params.enabledHypervisors.includes(hypervisor)) {
    return refuse(invalidArgument(`hypervisor '${hypervisor}' is not enabled on this cluster (enabled: ${params.enabledHypervisors.join(', ')}); 'opl cluster modify --enabled-hypervisors' changes that`));
  }
  const hvParams = checkHvParams(hypervisor, op.hypervisorParams);
  if (E.isLeft(hvParams)) return refuse(invalidArgument(`-H ${hypervisor}: ${hvParams.left}`));
  if (bootsFromDisk(hvParams.right) && op.disks.length === 0) {
    return refuse(invalidArgument(`-H ${hypervisor}: kernel_path is empty, so the guest boots from its first disk, but it has no disk (give one with --disk, or a -t other than diskless)`));
  }
  if (op.primaryNode === undefined) return refuse(invalidArgument('instance add: give the node with -n NODE or -I ALLOCATOR'));
  const node = findNode(state, op.primaryNode);
  if (!node) return refuse(notFound('node', op.primaryNode));
  // QEMU runs on the node's own host, through its daemon: a local node has no host of its own.
  if (hypervisor === 'kvm' && !node.address) {
    return refuse(invalidArgument(`node '${node.name}' is a local node (no opl-noded): kvm guests run only on nodes added with --address`));
  }
  const unfit = placementProblem(state, node, op.memoryMib, op.vcpus);
  if (unfit) return refuse(unfit);
  const disks = plannedDisks(state, op, ctx.devices);
  if (E.isLeft(disks)) return disks;
  const tooBig = localDiskProblem(state, node, localDiskMib({ diskTemplate: op.diskTemplate, disks: disks.right }));
  if (tooBig) return refuse(tooBig);
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
      hypervisor,
      ...(Object.keys(hvParams.right).length > 0 && { hypervisorParams: hvParams.right }),
      tags: op.tags,
      disks: disks.right,
    },
  };
  return op.start ? ok(added, { type: 'InstanceStarted', data: { instanceUuid, nodeUuid: node.uuid } }) : ok(added);
};

/** Stops a running instance and lets go of its disks first, so the removal never pulls storage from under it. */
export const decideInstanceRemove = (state: ClusterState, op: OpcodeOf<'OP_INSTANCE_REMOVE'>): Decision =>
  withInstance(state, op.instanceName, (instance) =>
    ok(
      ...(instance.adminState === 'up' ? [stopped(instance, op.shutdownTimeoutSeconds)] : []),
      ...(instance.activeDevices.length > 0
        ? [{ type: 'DisksDeactivated' as const, data: { instanceUuid: instance.uuid, nodeUuid: instance.primaryNodeUuid } }]
        : []),
      { type: 'InstanceRemoved', data: { instanceUuid: instance.uuid, instanceName: instance.name } },
    ),
  );

export const decideInstanceStartup = (state: ClusterState, op: OpcodeOf<'OP_INSTANCE_STARTUP'>): Decision =>
  withInstance(state, op.instanceName, (instance) => {
    // Recorded up is not proof that it runs (ERROR_down: the guest died). Starting is
    // idempotent on the node, so startup always asks for it, as Ganeti's does.
    const node = state.nodes.get(instance.primaryNodeUuid);
    if (!node || node.offline) {
      return refuse(wrongState(`instance '${instance.name}' cannot start: its primary node is offline`));
    }
    return ok({ type: 'InstanceStarted', data: { instanceUuid: instance.uuid, nodeUuid: node.uuid } });
  });

/** Stopped and started again on its node, in one job: a start that fails leaves it stopped, and says so. */
export const decideInstanceReboot = (state: ClusterState, op: OpcodeOf<'OP_INSTANCE_REBOOT'>): Decision =>
  withInstance(state, op.instanceName, (instance) => {
    if (instance.adminState === 'down') return refuse(wrongState(`instance '${instance.name}' is stopped: start it with 'opl instance start ${instance.name}'`));
    const node = state.nodes.get(instance.primaryNodeUuid);
    if (!node || node.offline) return refuse(wrongState(`instance '${instance.name}' cannot be rebooted: its primary node is offline`));
    const at = { instanceUuid: instance.uuid, nodeUuid: node.uuid };
    // full: its disks are let go of on the node between stop and start (Ganeti's shutdown and
    // start of its disks): a kvm start attaches them again itself; disks an operator had
    // activated are activated again, as they were.
    const disksAgain: ClusterEvent[] = [];
    if (op.rebootType === 'full' && instance.disks.length > 0 && !whyNot(instance.diskTemplate, 'activate-disks')) {
      disksAgain.push({ type: 'DisksDeactivated', data: at });
      if (instance.activeDevices.length > 0) disksAgain.push({ type: 'DisksActivated', data: { ...at, devices: instance.disks.map(() => '') } });
    }
    return ok(stopped(instance, op.shutdownTimeoutSeconds), ...disksAgain, { type: 'InstanceStarted', data: at });
  });

export const decideInstanceShutdown = (state: ClusterState, op: OpcodeOf<'OP_INSTANCE_SHUTDOWN'>): Decision =>
  withInstance(state, op.instanceName, (instance) => (instance.adminState === 'down' ? ok() : ok(stopped(instance, op.timeoutSeconds))));

export const decideInstanceSetParams = (state: ClusterState, op: OpcodeOf<'OP_INSTANCE_SET_PARAMS'>): Decision =>
  withInstance(state, op.instanceName, (instance) => {
    if (op.memoryMib === undefined && op.vcpus === undefined && op.tags === undefined && op.hypervisorParams === undefined) {
      return refuse(invalidArgument('instance modify: nothing to change; give --memory, --vcpus, --tags or -H'));
    }
    const hvParams = op.hypervisorParams === undefined ? undefined : checkHvParams(instance.hypervisor, modifiedHvParams(instance.hypervisorParams, op.hypervisorParams));
    if (hvParams && E.isLeft(hvParams)) return refuse(invalidArgument(`-H ${instance.hypervisor}: ${hvParams.left}`));
    if (hvParams && bootsFromDisk(hvParams.right) && instance.disks.length === 0) {
      return refuse(invalidArgument(`-H ${instance.hypervisor}: kernel_path is empty, so the guest boots from its first disk, but instance '${instance.name}' has no disk`));
    }
    const node = state.nodes.get(instance.primaryNodeUuid)!;
    const used = nodeUsage(state, node.uuid);
    const extraMemory = (op.memoryMib ?? instance.memoryMib) - instance.memoryMib;
    if (extraMemory > 0 && extraMemory > node.memoryMib - used.memoryMib) {
      return refuse(
        insufficientResources(`node '${node.name}' has ${node.memoryMib - used.memoryMib} MiB of memory free, ${extraMemory} MiB more needed`),
      );
    }
    const extraVcpus = (op.vcpus ?? instance.vcpus) - instance.vcpus;
    const vcpuLimit = Math.floor(node.cpus * state.params!.vcpuRatio);
    if (extraVcpus > 0 && used.vcpus + extraVcpus > vcpuLimit) {
      return refuse(insufficientResources(`node '${node.name}' would exceed its limit of ${vcpuLimit} vcpus`));
    }
    return ok({
      type: 'InstanceModified',
      data: {
        instanceUuid: instance.uuid,
        ...(op.memoryMib !== undefined && { memoryMib: op.memoryMib }),
        ...(op.vcpus !== undefined && { vcpus: op.vcpus }),
        ...(op.tags !== undefined && { tags: op.tags }),
        ...(hvParams && { hypervisorParams: hvParams.right }),
      },
    });
  });

/** Renames a stopped instance, and the disks named after it. */
export const decideInstanceRename = (state: ClusterState, op: OpcodeOf<'OP_INSTANCE_RENAME'>): Decision =>
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
