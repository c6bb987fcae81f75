import * as E from 'fp-ts/lib/Either.js';
import type { Either } from 'fp-ts/lib/Either.js';
import {
  type ClusterState,
  type InstanceConfig,
  type NodeConfig,
  findInstance,
  freeLocalDiskMib,
  nodeUsage,
} from '../cluster-state.js';
import { type DomainError, insufficientResources, notFound, wrongState } from '../errors.js';
import type { DeviceObservations } from '../devices.js';
import type { ClusterEvent } from '../events.js';

/** What a decision may draw on besides state and opcode: no hidden randomness. */
export interface DecideContext {
  newUuid: () => string;
  /** What the engine saw before deciding a migrate --cleanup (hypervisors asked, disks traced). */
  observed?: CleanupObservation;
  /** What the paths of adopted devices resolved to on the primary node, seen before deciding. */
  devices?: DeviceObservations;
}

/** Where an instance runs, by its hypervisors, and where its disks may still be attached. */
export interface CleanupObservation {
  runningOn: string[];
  attachedOn: string[];
  /** Where a copy of it is there but is not the guest (kvm: a migration's paused source, or a target that waits still): let go of. */
  leftOn?: string[];
}

/** The events an opcode records, in order, or why it is refused. */
export type Decision = Either<DomainError, ClusterEvent[]>;
export const ok = (...events: ClusterEvent[]): Decision => E.right(events);
export const refuse = (error: DomainError): Decision => E.left(error);

export const withInstance = (state: ClusterState, name: string, then: (i: InstanceConfig) => Decision): Decision => {
  const instance = findInstance(state, name);
  return instance ? then(instance) : refuse(notFound('instance', name));
};

export const stopped = (instance: InstanceConfig, timeoutSeconds?: number): ClusterEvent => ({
  type: 'InstanceStopped',
  data: { instanceUuid: instance.uuid, nodeUuid: instance.primaryNodeUuid, ...(timeoutSeconds !== undefined && { timeoutSeconds }) },
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
    return insufficientResources(`node '${node.name}' has ${free} MiB of memory free, ${memoryMib} MiB needed`);
  }
  const vcpuLimit = Math.floor(node.cpus * state.params!.vcpuRatio);
  if (used.vcpus + vcpus > vcpuLimit) {
    return insufficientResources(
      `node '${node.name}' would carry ${used.vcpus + vcpus} vcpus, more than its limit of ${vcpuLimit} (${node.cpus} cpus × vcpu-ratio ${state.params!.vcpuRatio})`,
    );
  }
  return undefined;
};

/**
 * Why a node's local disk cannot take `extraMib` more, or undefined if it can. Only a
 * node that declared its local disk (`opl node add --disk`) is held to it; one added
 * without it keeps the old behaviour: no limit is accounted, the node's file system is.
 */
export const localDiskProblem = (state: ClusterState, node: NodeConfig, extraMib: number): DomainError | undefined => {
  const free = freeLocalDiskMib(state, node);
  if (free === undefined || extraMib <= 0 || extraMib <= free) return undefined;
  return insufficientResources(`node '${node.name}' has ${free} MiB of local disk free, ${extraMib} MiB needed`);
};
