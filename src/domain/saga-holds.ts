import * as E from 'fp-ts/lib/Either.js';
import { findInstance, localDiskMib, nodeUsage, type ClusterState, type Hold, type NodeUsage, type PendingSaga } from './cluster-state.js';
import { DomainError, wrongState } from './errors.js';
import { deviceKeys, normaliseDevicePath, type DeviceObservations } from './devices.js';
import { parseDecidedEvent, type ClusterEvent, type EventOf } from './events.js';
import type { Opcode } from './opcodes.js';

/**
 * What a saga holds from the moment its decision is in the log: the capacity its
 * decided events will use, the names and devices they will give, and the instances
 * they work on. Folding `SagaBegun` takes these; `SagaCompleted` and `SagaUndone`
 * give them back, so concurrent opcodes are decided against what is already
 * promised, not only against what is done.
 */
export const holdsOf = (state: ClusterState, events: readonly ClusterEvent[]): Hold[] => {
  const holds: Hold[] = [];
  for (const event of events) {
    switch (event.type) {
      case 'InstanceAdded': {
        const d = event.data;
        holds.push({ kind: 'usage', nodeUuid: d.primaryNodeUuid, delta: usage(d.memoryMib, d.vcpus, 1, localDiskMib(d)) });
        holds.push({ kind: 'name', name: d.instanceName }, { kind: 'instance', instanceUuid: d.instanceUuid });
        for (const disk of d.disks) if (disk.adopted) for (const key of deviceKeys(disk.logicalId, disk.deviceNumber, disk.underlying)) holds.push({ kind: 'device', key });
        break;
      }
      case 'InstanceMoved': {
        const instance = state.instances.get(event.data.instanceUuid);
        // The target carries the instance from the start of the move, the source until its end.
        if (instance) holds.push({ kind: 'usage', nodeUuid: event.data.toNodeUuid, delta: usage(instance.memoryMib, instance.vcpus, 1, localDiskMib(instance)) });
        holds.push({ kind: 'instance', instanceUuid: event.data.instanceUuid });
        break;
      }
      case 'DiskGrown': {
        const instance = state.instances.get(event.data.instanceUuid);
        const disk = instance?.disks[event.data.index];
        // Only local disks take room on the node; the growth is held until it is done.
        const growth = instance && disk ? localDiskMib({ diskTemplate: instance.diskTemplate, disks: [{ ...disk, sizeMib: event.data.sizeMib - disk.sizeMib }] }) : 0;
        if (instance && growth > 0) holds.push({ kind: 'usage', nodeUuid: instance.primaryNodeUuid, delta: usage(0, 0, 0, growth) });
        holds.push({ kind: 'instance', instanceUuid: event.data.instanceUuid });
        break;
      }
      case 'NodePowered':
        // A fence's instance is held by its InstanceMoved; the node, so that nobody powers it on or brings it online meanwhile.
        holds.push({ kind: 'node', nodeUuid: event.data.nodeUuid });
        break;
      case 'InstanceRenamed':
        holds.push({ kind: 'name', name: event.data.newName }, { kind: 'instance', instanceUuid: event.data.instanceUuid });
        break;
      default:
        if ('instanceUuid' in event.data) holds.push({ kind: 'instance', instanceUuid: event.data.instanceUuid });
    }
  }
  return dedupe(holds);
};

const usage = (memoryMib: number, vcpus: number, instances: number, diskMib: number): NodeUsage => ({ memoryMib, vcpus, instances, diskMib });

const holdKey = (h: Exclude<Hold, { kind: 'usage' }>): string => (h.kind === 'name' ? h.name : h.kind === 'device' ? h.key : h.kind === 'node' ? h.nodeUuid : h.instanceUuid);

/** Usage adds up; a name, device or instance is held once however many events name it. */
const dedupe = (holds: Hold[]): Hold[] => {
  const seen = new Set<string>();
  return holds.filter((h) => {
    if (h.kind === 'usage') return true;
    const key = `${h.kind}:${holdKey(h)}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
};

const addUsage = (state: ClusterState, nodeUuid: string, delta: NodeUsage, sign: 1 | -1): void => {
  const current = nodeUsage(state, nodeUuid);
  state.usage.set(nodeUuid, {
    memoryMib: current.memoryMib + sign * delta.memoryMib,
    vcpus: current.vcpus + sign * delta.vcpus,
    instances: current.instances + sign * delta.instances,
    diskMib: current.diskMib + sign * delta.diskMib,
  });
};

const apply = (state: ClusterState, saga: PendingSaga, hold: Hold, sign: 1 | -1): void => {
  const index = { name: state.heldNames, device: state.heldDevices, instance: state.busyInstances, node: state.busyNodes } as const;
  if (hold.kind === 'usage') return addUsage(state, hold.nodeUuid, hold.delta, sign);
  const map = index[hold.kind];
  const key = holdKey(hold);
  if (sign === 1) map.set(key, saga.sagaId);
  else if (map.get(key) === saga.sagaId) map.delete(key);
};

export const beginSaga = (state: ClusterState, data: EventOf<'SagaBegun'>['data']): void => {
  const events = data.events.map(parseDecidedEvent);
  const saga: PendingSaga = { sagaId: data.sagaId, jobId: data.jobId, opIndex: data.opIndex, events, holds: holdsOf(state, events) };
  state.sagas.set(saga.sagaId, saga);
  for (const hold of saga.holds) apply(state, saga, hold, 1);
};

/** Gives back what a saga held; its decided events, if it completed, are folded after this. */
export const endSaga = (state: ClusterState, sagaId: string): void => {
  const saga = state.sagas.get(sagaId);
  if (!saga) return;
  for (const hold of saga.holds) apply(state, saga, hold, -1);
  state.sagas.delete(sagaId);
};

/**
 * Why an opcode may not be decided while other sagas run: it names an instance a
 * saga is working on, a name a saga is about to give, or a device a saga is adopting
 * (by its path, or by its device number as observed before deciding).
 * (Locks keep this from happening under one leader; after a crash, the successor's
 * locks are new, and this keeps the log's promises all the same.)
 */
export const heldProblem = (state: ClusterState, opcode: Opcode, devices?: DeviceObservations): DomainError | undefined => {
  const by = (sagaId: string | undefined) => {
    const saga = sagaId === undefined ? undefined : state.sagas.get(sagaId);
    return saga ? `job ${saga.jobId}` : 'another job';
  };
  if ('instanceName' in opcode) {
    const instance = findInstance(state, opcode.instanceName);
    const busy = instance && state.busyInstances.get(instance.uuid);
    if (busy !== undefined) return wrongState(`instance '${opcode.instanceName}' is being changed by ${by(busy)}; wait for it to end`);
    const held = state.heldNames.get(opcode.instanceName);
    if (held !== undefined && !instance) return new DomainError('already_exists', `instance name '${opcode.instanceName}' is being given by ${by(held)}`);
  }
  const nodeNames = opcode.type === 'OP_OOB_COMMAND' ? opcode.nodeNames : opcode.type === 'OP_NODE_SET_PARAMS' ? [opcode.nodeName] : [];
  for (const name of nodeNames) {
    const uuid = state.nodeByName.get(name);
    const busy = uuid === undefined ? undefined : state.busyNodes.get(uuid);
    if (busy !== undefined) return wrongState(`node '${name}' is being powered by ${by(busy)}; wait for it to end`);
  }
  if (opcode.type === 'OP_INSTANCE_RENAME' && state.heldNames.has(opcode.newName)) {
    return new DomainError('already_exists', `instance name '${opcode.newName}' is being given by ${by(state.heldNames.get(opcode.newName))}`);
  }
  if (opcode.type === 'OP_INSTANCE_CREATE') {
    for (const [index, disk] of opcode.disks.entries()) {
      if (disk.adopt === undefined) continue;
      const normal = normaliseDevicePath(disk.adopt);
      const path = E.isRight(normal) ? normal.right : disk.adopt;
      const seen = devices?.get(path);
      const device = seen?.kind === 'device' ? seen : undefined;
      for (const key of deviceKeys(path, device?.deviceNumber, device?.underlying)) {
        const held = state.heldDevices.get(key);
        const what = key.startsWith('path') || !device ? '' : ` (device ${device.deviceNumber}, ${device.resolved})`;
        if (held === undefined) continue;
        // Another name or number for the same blocks (a loop's file, a partition's disk) says which.
        const own = key.startsWith('path') || key === `device ${device?.deviceNumber}`;
        const is = own ? 'is being adopted' : `shares ${key} with a device being adopted`;
        return new DomainError('in_use', `disk ${index}: '${disk.adopt}'${what} ${is} by ${by(held)}`);
      }
    }
  }
  return undefined;
};
