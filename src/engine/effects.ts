import type { ClusterState, InstanceConfig } from '../domain/cluster-state.js';
import type { ClusterEvent, DiskRecord } from '../domain/events.js';
import type { DiskTarget } from '../domain/ports/disk-storage.js';
import type { HypervisorInstance } from '../domain/ports/hypervisor.js';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** A side effect a decided event stands for; it must happen before the event is recorded. */
export type Effect = {
  eventIndex: number;
  /** A step on a source node that may be dead: its failure is logged, not fatal. */
  mayFail?: boolean;
} & (
  | {
      kind: 'hypervisor';
      action: 'start' | 'stop' | 'cleanup';
      nodeName: string;
      instance: HypervisorInstance;
      /** Set on a move's stop of the source: undoing it starts the instance there again. */
      restartOnUndo?: boolean;
    }
  | { kind: 'disk'; action: 'create' | 'remove' | 'attach' | 'detach'; target: DiskTarget }
  | { kind: 'disk'; action: 'grow'; target: DiskTarget; sizeMib: number }
  | { kind: 'disk'; action: 'rename'; target: DiskTarget; newInstanceName: string; newLogicalId: string }
);

type InstanceLike = Pick<InstanceConfig, 'name' | 'uuid' | 'tags' | 'memoryMib' | 'vcpus' | 'diskTemplate' | 'primaryNodeUuid' | 'disks'>;

/** The calls that must succeed, in order, before these events may be recorded. */
export const effectsOf = (state: ClusterState, events: readonly ClusterEvent[]): Effect[] => {
  const added = new Map<string, InstanceLike>();
  const instanceFor = (uuid: string): InstanceLike | undefined => state.instances.get(uuid) ?? added.get(uuid);
  const nodeName = (uuid: string) => state.nodes.get(uuid)?.name;
  const hv = (i: InstanceLike): HypervisorInstance => ({ name: i.name, uuid: i.uuid, memoryMib: i.memoryMib, vcpus: i.vcpus });
  const target = (i: InstanceLike, disk: DiskRecord, onNode = i.primaryNodeUuid): DiskTarget | undefined => {
    const node = nodeName(onNode);
    const primary = state.nodes.get(i.primaryNodeUuid);
    if (!node || !primary) return undefined;
    const pool = disk.pool === undefined ? undefined : state.pools.get(disk.pool);
    const peers = [...state.nodes.values()].filter((n) => n.groupUuid === primary.groupUuid && !n.offline).map((n) => n.name).sort();
    return { nodeName: node, template: i.diskTemplate, instance: { name: i.name, uuid: i.uuid, tags: i.tags }, disk, peers, ...(pool && { pool }) };
  };
  const effects: Effect[] = [];
  for (const [eventIndex, event] of events.entries()) {
    const push = (effect: DistributiveOmit<Effect, 'eventIndex'>) => effects.push({ ...effect, eventIndex } as Effect);
    switch (event.type) {
      case 'InstanceAdded': {
        const d = event.data;
        const instance: InstanceLike = { name: d.instanceName, uuid: d.instanceUuid, tags: d.tags, memoryMib: d.memoryMib, vcpus: d.vcpus, diskTemplate: d.diskTemplate, primaryNodeUuid: d.primaryNodeUuid, disks: d.disks };
        added.set(d.instanceUuid, instance);
        for (const disk of d.disks) {
          const t = target(instance, disk);
          // Adopting is this template's create: it checks the device and reads its size.
          if (t) push({ kind: 'disk', action: 'create', target: t });
        }
        break;
      }
      case 'InstanceStarted':
      case 'InstanceStopped': {
        const instance = instanceFor(event.data.instanceUuid);
        const node = nodeName(event.data.nodeUuid);
        if (instance && node) {
          push({ kind: 'hypervisor', action: event.type === 'InstanceStarted' ? 'start' : 'stop', nodeName: node, instance: hv(instance) });
        }
        break;
      }
      case 'DiskGrown': {
        const instance = instanceFor(event.data.instanceUuid);
        const disk = instance?.disks[event.data.index];
        const t = instance && disk && target(instance, disk);
        if (t) push({ kind: 'disk', action: 'grow', target: t, sizeMib: event.data.sizeMib });
        break;
      }
      case 'InstanceRenamed': {
        const instance = instanceFor(event.data.instanceUuid);
        if (!instance) break;
        instance.disks.forEach((disk, i) => {
          const t = target(instance, disk);
          const newLogicalId = event.data.logicalIds[i];
          // `ext` disks always go to their driver: only it knows whether the name matters.
          const moves = newLogicalId !== undefined && (newLogicalId !== disk.logicalId || instance.diskTemplate === 'ext');
          if (t && moves && !disk.adopted) push({ kind: 'disk', action: 'rename', target: t, newInstanceName: event.data.newName, newLogicalId: newLogicalId! });
        });
        break;
      }
      case 'InstanceMoved': {
        // The saga of a move: reach the disks from the target, move the running
        // instance, let go of the disks on the source. A dead source is not waited on.
        const d = event.data;
        const instance = instanceFor(d.instanceUuid);
        const from = nodeName(d.fromNodeUuid);
        const to = nodeName(d.toNodeUuid);
        if (!instance || !from || !to) break;
        for (const disk of instance.disks) {
          const t = target(instance, disk, d.toNodeUuid);
          if (t) push({ kind: 'disk', action: 'attach', target: t });
        }
        if (d.running && d.how === 'live-migration') {
          push({ kind: 'hypervisor', action: 'start', nodeName: to, instance: hv(instance) });
          push({ kind: 'hypervisor', action: 'cleanup', nodeName: from, instance: hv(instance) });
        } else if (d.running) {
          if (!d.sourceOffline) {
            push({ kind: 'hypervisor', action: 'stop', nodeName: from, instance: hv(instance), restartOnUndo: true, ...(d.ignoreSourceFailures && { mayFail: true }) });
          }
          push({ kind: 'hypervisor', action: 'start', nodeName: to, instance: hv(instance) });
        }
        if (!d.sourceOffline) {
          for (const disk of instance.disks) {
            const t = target(instance, disk, d.fromNodeUuid);
            if (t) push({ kind: 'disk', action: 'detach', target: t, ...(d.ignoreSourceFailures && { mayFail: true }) });
          }
        }
        break;
      }
      case 'InstanceCleanedUp': {
        const instance = instanceFor(event.data.instanceUuid);
        if (!instance) break;
        for (const nodeUuid of event.data.nodeUuids) {
          const node = nodeName(nodeUuid);
          if (!node) continue;
          const offline = state.nodes.get(nodeUuid)?.offline ?? false;
          push({ kind: 'hypervisor', action: 'cleanup', nodeName: node, instance: hv(instance), ...(offline && { mayFail: true }) });
          for (const disk of instance.disks) {
            const t = target(instance, disk, nodeUuid);
            if (t) push({ kind: 'disk', action: 'detach', target: t, ...(offline && { mayFail: true }) });
          }
        }
        break;
      }
      case 'DisksActivated':
      case 'DisksDeactivated': {
        const instance = instanceFor(event.data.instanceUuid);
        for (const disk of instance?.disks ?? []) {
          const t = target(instance!, disk);
          if (t) push({ kind: 'disk', action: event.type === 'DisksActivated' ? 'attach' : 'detach', target: t });
        }
        break;
      }
      case 'InstanceRemoved': {
        const instance = instanceFor(event.data.instanceUuid);
        const node = instance && nodeName(instance.primaryNodeUuid);
        if (!instance || !node) break;
        push({ kind: 'hypervisor', action: 'cleanup', nodeName: node, instance: hv(instance) });
        for (const disk of instance.disks) {
          const t = target(instance, disk);
          // Adopted devices belong to the storage team: released, never destroyed.
          if (t && !disk.adopted) push({ kind: 'disk', action: 'remove', target: t });
        }
        break;
      }
      default:
        break;
    }
  }
  return effects;
};
