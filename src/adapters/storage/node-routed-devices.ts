import { z } from 'zod';
import type { DeviceSighting } from '../../domain/devices.js';
import type { NodeCaller } from '../hypervisors/node-routed.js';
import { NodeCallError } from '../nodes/node-answer.js';
import { identifyDevice, type IdentifyDevice } from './block-devices.js';

const Sighting = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('device'),
    deviceNumber: z.string().regex(/^\d+:\d+$/),
    sizeBytes: z.number().int().nonnegative(),
    resolved: z.string().startsWith('/'),
    underlying: z.array(z.string().max(512)).max(64).optional(),
    busy: z.string().max(2000).optional(),
  }),
  z.object({ kind: z.literal('problem'), message: z.string().max(2000) }),
]);

/**
 * What a path is on whichever node is named: a node with a daemon looks at its own
 * /dev (a LUN's path and number are the host's), a local one is looked at here. The
 * answer is believed only as a sighting: a device number, a size, where it resolved.
 */
export const nodeRoutedIdentify = (route: (nodeName: string) => NodeCaller | undefined, local: IdentifyDevice = identifyDevice): IdentifyDevice => async (node, path) => {
  const daemon = route(node);
  if (!daemon) return local(node, path);
  const parsed = Sighting.safeParse(await daemon.call('dev-identify', { node, path }));
  if (!parsed.success) throw new NodeCallError('bad-answer', `node ${node} answered what ${path} is with something that is not a device sighting`);
  const seen = parsed.data;
  if (seen.kind === 'problem') return seen;
  const { underlying, busy, ...device } = seen;
  return { ...device, ...(underlying && { underlying }), ...(busy !== undefined && { busy }) } satisfies DeviceSighting;
};
