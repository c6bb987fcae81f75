import { z } from 'zod';
import type { DiskStorage, DiskTarget } from '../../domain/ports/disk-storage.js';
import type { NodeCaller } from '../hypervisors/node-routed.js';
import { NodeCallError } from '../nodes/node-answer.js';

const Created = z.object({ logicalId: z.string().min(1), sizeMib: z.number().int().nonnegative().optional() });
const Grown = z.object({ sizeMib: z.number().int().nonnegative() });
const Renamed = z.object({ logicalId: z.string().min(1) });
const Attached = z.object({ device: z.string().startsWith('/'), uris: z.record(z.string(), z.string()).optional() });

/**
 * `file` and `sharedfile` disks of whichever node is named: a node with a daemon makes
 * them on its own host (its file directory, its view of the shared one), a node without
 * one is served here by the local adapter. A daemon's answer is believed only once it
 * has the shape the port promises.
 */
export const nodeRoutedFileStorage = (local: DiskStorage, route: (nodeName: string) => NodeCaller | undefined): DiskStorage => {
  const ask = async <T>(target: DiskTarget, action: string, shape: z.ZodType<T>, extra: Record<string, unknown>, daemon: NodeCaller): Promise<T> => {
    const { nodeName, template, instance, disk, peers } = target;
    const answer = await daemon.call(`disk-${action}`, { node: nodeName, target: { nodeName, template, instance, disk, peers }, ...extra });
    const parsed = shape.safeParse(answer);
    if (!parsed.success) throw new NodeCallError('bad-answer', `node ${nodeName} answered disk-${action} for ${template} disk ${disk.logicalId} with something that is not what the call promises`);
    return parsed.data;
  };
  const Done = z.object({});
  return {
    create: (target, ctx) => {
      const daemon = route(target.nodeName);
      return daemon ? ask(target, 'create', Created, {}, daemon).then(({ logicalId, sizeMib }) => ({ logicalId, ...(sizeMib !== undefined && { sizeMib }) })) : local.create(target, ctx);
    },
    grow: (target, sizeMib, ctx) => {
      const daemon = route(target.nodeName);
      return daemon ? ask(target, 'grow', Grown, { sizeMib }, daemon) : local.grow(target, sizeMib, ctx);
    },
    remove: async (target, ctx) => {
      const daemon = route(target.nodeName);
      if (daemon) await ask(target, 'remove', Done, {}, daemon);
      else await local.remove(target, ctx);
    },
    rename: (target, newInstanceName, proposedLogicalId, ctx) => {
      const daemon = route(target.nodeName);
      return daemon ? ask(target, 'rename', Renamed, { newInstanceName, proposedLogicalId }, daemon) : local.rename(target, newInstanceName, proposedLogicalId, ctx);
    },
    attach: (target, ctx) => {
      const daemon = route(target.nodeName);
      return daemon ? ask(target, 'attach', Attached, {}, daemon).then(({ device, uris }) => ({ device, ...(uris && { uris }) })) : local.attach(target, ctx);
    },
    detach: async (target, ctx) => {
      const daemon = route(target.nodeName);
      if (daemon) await ask(target, 'detach', Done, {}, daemon);
      else await local.detach(target, ctx);
    },
  };
};
