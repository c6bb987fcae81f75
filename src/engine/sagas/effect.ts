import type { DiskStorage, DiskTarget, StorageContext } from '../../domain/ports/disk-storage.js';
import type { Hypervisor, HypervisorInstance } from '../../domain/ports/hypervisor.js';
import type { DiskTemplate } from '../../domain/templates.js';

/** One call into the world: a hypervisor on a node, or a template's storage. */
export type Effect =
  | { kind: 'hypervisor'; action: 'start' | 'stop' | 'cleanup'; nodeName: string; instance: HypervisorInstance }
  | { kind: 'disk'; action: 'create' | 'remove' | 'attach' | 'detach'; target: DiskTarget }
  | { kind: 'disk'; action: 'grow'; target: DiskTarget; sizeMib: number }
  | { kind: 'disk'; action: 'rename'; target: DiskTarget; newInstanceName: string; newLogicalId: string };

/** What an effect learnt that the events it serves must record. */
export interface EffectOutcome {
  logicalId?: string;
  sizeMib?: number;
  device?: string;
}

export interface EffectPorts {
  hypervisor: Hypervisor;
  storage: Partial<Record<DiskTemplate, DiskStorage>>;
}

/** The line the job log gets, and the intent records, before the effect runs. */
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

/** What the intent records of an effect: which call, where, on which volume — for auditors and successors. */
export const effectSummary = (effect: Effect): Record<string, unknown> =>
  effect.kind === 'hypervisor'
    ? { kind: 'hypervisor', action: effect.action, node: effect.nodeName, instance: effect.instance.name, instanceUuid: effect.instance.uuid }
    : {
        kind: 'disk',
        action: effect.action,
        node: effect.target.nodeName,
        template: effect.target.template,
        instance: effect.target.instance.name,
        instanceUuid: effect.target.instance.uuid,
        disk: effect.target.disk.index,
        logicalId: effect.target.disk.logicalId,
        ...(effect.target.pool && { pool: effect.target.pool.name, driver: effect.target.pool.driver }),
        ...(effect.action === 'grow' && { sizeMib: effect.sizeMib }),
        ...(effect.action === 'rename' && { newLogicalId: effect.newLogicalId }),
      };

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
