import * as E from 'fp-ts/lib/Either.js';
import type { Either } from 'fp-ts/lib/Either.js';
import { type ClusterState, findNode } from '../cluster-state.js';
import { DomainError, inUse, invalidArgument, notFound, notSupported, wrongState } from '../errors.js';
import type { DiskRecord } from '../events.js';
import type { OpcodeOf } from '../opcodes.js';
import { deviceOwner, normaliseDevicePath, overlapReason, prefixProblem, type DeviceObservations } from '../devices.js';
import { fileDiskPath } from '../storage-paths.js';
import { rulesFor, whyNot } from '../template-rules.js';
import { DTS_LOCAL, type DiskTemplate } from '../templates.js';
import { type Decision, localDiskProblem, ok, refuse, withInstance } from './shared.js';

const MIB = 1024 * 1024;

/** The disks an instance of this template gets, or why the requested ones do not fit it. */
export const plannedDisks = (state: ClusterState, op: OpcodeOf<'OP_INSTANCE_CREATE'>, devices?: DeviceObservations): Either<DomainError, DiskRecord[]> => {
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
      const adopted = adoptedDisk(state, { index, path: spec.adopt!, params: spec.params }, devices, disks);
      if (E.isLeft(adopted)) return adopted;
      disks.push(adopted.right);
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

/**
 * The disk a device is adopted as, or why it may not be: a path that is not plain,
 * outside the allowed prefixes, not a block device, empty, or a device (by number,
 * whatever its name) that an instance or another disk of this one already has.
 * (Devices held by sagas under way are refused before deciding: see saga-holds.ts.)
 */
const adoptedDisk = (
  state: ClusterState,
  spec: { index: number; path: string; params: Record<string, string> },
  devices: DeviceObservations | undefined,
  earlier: readonly DiskRecord[],
): Either<DomainError, DiskRecord> => {
  const { index, path: given } = spec;
  const normal = normaliseDevicePath(given);
  if (E.isLeft(normal)) return E.left(invalidArgument(`disk ${index}: adopt='${given.replace(/\0/g, '\\0')}' ${normal.left}`));
  const path = normal.right;
  const outside = prefixProblem(state.params!.blockdevPrefixes, path);
  if (outside) return E.left(invalidArgument(`disk ${index}: ${outside}`));
  const seen = devices?.get(path);
  if (!seen) return E.left(wrongState(`disk ${index}: '${path}' was not examined on the node before deciding; try again`));
  if (seen.kind === 'problem') return E.left(invalidArgument(`disk ${index}: ${seen.message}`));
  const named = `'${path}' (device ${seen.deviceNumber}, ${seen.resolved})`;
  if (seen.sizeBytes === 0) return E.left(invalidArgument(`disk ${index}: ${named} is empty (0 bytes); only a device with room on it can be a disk`));
  // Sizes are kept in whole MiB: a smaller device would be a disk of 0 MiB, as good as empty.
  if (seen.sizeBytes < MIB) return E.left(invalidArgument(`disk ${index}: ${named} holds ${seen.sizeBytes} bytes, less than 1 MiB; only a device with room on it can be a disk`));
  // Something built on it (partitions, a mapped device) would be written behind the instance's back.
  if (seen.busy) return E.left(inUse(`disk ${index}: ${named} ${seen.busy}; only a device nothing else is built on can be adopted`));
  const owner = deviceOwner(state, path, seen, devices);
  if (owner) {
    if (owner.why === 'is the same device as') {
      const as = owner.path === path ? '' : ` as '${owner.path}'`;
      return E.left(inUse(`disk ${index}: ${named} is already adopted by instance '${owner.instance}'${as}`));
    }
    return E.left(inUse(`disk ${index}: ${named} ${owner.why} '${owner.path}', adopted by instance '${owner.instance}'`));
  }
  for (const twin of earlier) {
    const why = overlapReason(seen, twin);
    if (why) return E.left(inUse(`disk ${index}: ${named} ${why} disk ${twin.index} ('${twin.logicalId}')`));
  }
  const sizeMib = Math.floor(seen.sizeBytes / MIB);
  // Recorded even when empty: a disk without it was adopted before it was kept, and is looked at again.
  const underlying = [...(seen.underlying ?? [])];
  return E.right({ index, sizeMib, logicalId: path, deviceNumber: seen.deviceNumber, underlying, params: spec.params, adopted: true });
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
  return E.left(notSupported(`this engine does not provision '${template}' disks`));
};

export const decideInstanceGrowDisk = (state: ClusterState, op: OpcodeOf<'OP_INSTANCE_GROW_DISK'>): Decision =>
  withInstance(state, op.instanceName, (instance) => {
    const refusal = whyNot(instance.diskTemplate, 'grow-disk');
    if (refusal) return refuse(notSupported(refusal));
    const disk = instance.disks[op.diskIndex];
    if (!disk) {
      return refuse(new DomainError('not_found', `instance '${instance.name}' has no disk ${op.diskIndex} (it has ${instance.disks.length})`));
    }
    const size = op.absolute ? op.amountMib : disk.sizeMib + op.amountMib;
    if (size <= disk.sizeMib) {
      return refuse(invalidArgument(`disks only grow: disk ${op.diskIndex} of '${instance.name}' is ${disk.sizeMib} MiB, ${size} MiB asked`));
    }
    if (DTS_LOCAL.has(instance.diskTemplate)) {
      const tooBig = localDiskProblem(state, state.nodes.get(instance.primaryNodeUuid)!, size - disk.sizeMib);
      if (tooBig) return refuse(tooBig);
    }
    return ok({ type: 'DiskGrown', data: { instanceUuid: instance.uuid, index: op.diskIndex, sizeMib: size } });
  });

/** Attaches an instance's disks on its primary node; where each appeared is filled in from what attach answers. */
export const decideInstanceActivateDisks = (state: ClusterState, op: OpcodeOf<'OP_INSTANCE_ACTIVATE_DISKS'>): Decision =>
  withInstance(state, op.instanceName, (instance) => {
    const refusal = whyNot(instance.diskTemplate, 'activate-disks');
    if (refusal) return refuse(notSupported(refusal));
    return ok({
      type: 'DisksActivated',
      data: { instanceUuid: instance.uuid, nodeUuid: instance.primaryNodeUuid, devices: instance.disks.map(() => '') },
    });
  });

export const decideInstanceDeactivateDisks = (state: ClusterState, op: OpcodeOf<'OP_INSTANCE_DEACTIVATE_DISKS'>): Decision =>
  withInstance(state, op.instanceName, (instance) => {
    const refusal = whyNot(instance.diskTemplate, 'activate-disks');
    if (refusal) return refuse(notSupported(refusal));
    if (instance.adminState === 'up') {
      return refuse(wrongState(`instance '${instance.name}' is running; stop it before deactivating its disks`));
    }
    if (instance.activeDevices.length === 0) return ok();
    return ok({ type: 'DisksDeactivated', data: { instanceUuid: instance.uuid, nodeUuid: instance.primaryNodeUuid } });
  });
