import type { ClusterEvent } from '../domain/events.js';
import type { DiskStorage, StorageContext } from '../domain/ports/disk-storage.js';
import type { Hypervisor } from '../domain/ports/hypervisor.js';
import type { DiskTemplate } from '../domain/templates.js';
import type { Effect } from './effects.js';

export interface EffectPorts {
  hypervisor: Hypervisor;
  storage: Partial<Record<DiskTemplate, DiskStorage>>;
}

/** The line the job log gets before the effect runs. */
export const describeEffect = (effect: Effect): string => {
  if (effect.kind === 'hypervisor') {
    const verb = { start: 'starting', stop: 'stopping', cleanup: 'cleaning up' }[effect.action];
    return `${verb} instance ${effect.instance.name} on node ${effect.nodeName}`;
  }
  const { target } = effect;
  const where = target.template === 'ext' ? `ext:${target.disk.pool ?? '?'}` : target.template;
  const disk = `disk ${target.disk.index} of ${target.instance.name} (${where}${target.disk.logicalId ? ` ${target.disk.logicalId}` : ''})`;
  switch (effect.action) {
    case 'create':
      return target.disk.adopted
        ? `adopting ${disk} after checking it on nodes ${target.peers.join(', ')}`
        : `creating ${disk}, ${target.disk.sizeMib} MiB, on node ${target.nodeName}`;
    case 'grow':
      return `growing ${disk} from ${target.disk.sizeMib} to ${effect.sizeMib} MiB`;
    case 'remove':
      return `removing ${disk}`;
    case 'attach':
      return `attaching ${disk} on node ${target.nodeName}`;
    case 'detach':
      return `detaching ${disk} from node ${target.nodeName}`;
    case 'rename':
      return target.template === 'ext' ? `renaming ${disk} for the instance's new name ${effect.newInstanceName}` : `renaming ${disk} to ${effect.newLogicalId}`;
  }
};

/** What an effect learnt that the events it stands for must record. */
export interface EffectOutcome {
  logicalId?: string;
  sizeMib?: number;
  device?: string;
}

export const runEffect = async (ports: EffectPorts, effect: Effect, ctx: StorageContext): Promise<EffectOutcome> => {
  if (effect.kind === 'hypervisor') {
    await ports.hypervisor[effect.action](effect.nodeName, effect.instance);
    return {};
  }
  const storage = ports.storage[effect.target.template];
  if (!storage) throw new Error(`no storage backend for '${effect.target.template}' disks`);
  switch (effect.action) {
    case 'create':
      return storage.create(effect.target, ctx);
    case 'grow':
      return storage.grow(effect.target, effect.sizeMib, ctx);
    case 'remove':
      await storage.remove(effect.target, ctx);
      return {};
    case 'attach':
      return { device: (await storage.attach(effect.target, ctx)).device };
    case 'detach':
      await storage.detach(effect.target, ctx);
      return {};
    case 'rename':
      return storage.rename(effect.target, effect.newInstanceName, effect.newLogicalId, ctx);
  }
};

/** Writes what the storage answered into the event the effect stands for (in place). */
export const recordOutcome = (events: ClusterEvent[], effect: Effect, outcome: EffectOutcome): void => {
  if (effect.kind !== 'disk') return;
  const event = events[effect.eventIndex];
  if (!event) return;
  const index = effect.target.disk.index;
  if (event.type === 'InstanceAdded') {
    const disk = event.data.disks[index];
    if (disk && outcome.logicalId !== undefined) disk.logicalId = outcome.logicalId;
    if (disk && outcome.sizeMib !== undefined) disk.sizeMib = outcome.sizeMib;
  } else if (event.type === 'DiskGrown' && outcome.sizeMib !== undefined) {
    event.data.sizeMib = outcome.sizeMib;
  } else if (event.type === 'InstanceRenamed' && outcome.logicalId !== undefined) {
    event.data.logicalIds[index] = outcome.logicalId;
  } else if (event.type === 'DisksActivated' && outcome.device !== undefined) {
    event.data.devices[index] = outcome.device;
  }
};

/** The step that takes an effect back, if there is one. */
export const undoOf = (effect: Effect, outcome: EffectOutcome): Effect | undefined => {
  if (effect.kind === 'disk' && effect.action === 'create' && !effect.target.disk.adopted) {
    const disk = { ...effect.target.disk, logicalId: outcome.logicalId ?? effect.target.disk.logicalId };
    return { ...effect, action: 'remove', target: { ...effect.target, disk } };
  }
  if (effect.kind === 'hypervisor' && effect.action === 'start') return { ...effect, action: 'stop' };
  if (effect.kind === 'hypervisor' && effect.action === 'stop' && effect.restartOnUndo) return { ...effect, action: 'start' };
  if (effect.kind === 'disk' && effect.action === 'attach') return { ...effect, action: 'detach' };
  return undefined;
};
