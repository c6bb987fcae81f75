import * as E from 'fp-ts/lib/Either.js';
import { normaliseDevicePath, prefixProblem, unnumberedAdoptedPaths, type DeviceObservations, type DeviceSighting } from '../../domain/devices.js';
import type { OpcodeOf } from '../../domain/opcodes.js';
import type { HandlerContext } from './handler.js';

/**
 * For blockdev adoption: looks at what each path to adopt resolves to on the
 * instance's primary node — its device number, size and what it is built from — so
 * the pure decider can tell one device (or one set of blocks) under two names. Paths
 * outside the allowed prefixes are not looked at (the decider refuses them by name
 * alone). Adopted paths recorded before these were kept are looked at too, on their
 * own primary, so an alias of one of them is recognised.
 */
export const observeDevices = async (op: OpcodeOf<'OP_INSTANCE_CREATE'>, ctx: HandlerContext): Promise<DeviceObservations | undefined> => {
  if (op.diskTemplate !== 'blockdev' || !ctx.identifyDevice || op.primaryNode === undefined) return undefined;
  const state = await ctx.state();
  const prefixes = state.params?.blockdevPrefixes ?? [];
  const wanted: { node: string; path: string }[] = [];
  for (const disk of op.disks) {
    const normal = disk.adopt === undefined ? undefined : normaliseDevicePath(disk.adopt);
    if (normal && E.isRight(normal) && !prefixProblem(prefixes, normal.right)) wanted.push({ node: op.primaryNode, path: normal.right });
  }
  if (wanted.length === 0) return undefined;
  for (const { nodeUuid, path } of unnumberedAdoptedPaths(state)) {
    const node = state.nodes.get(nodeUuid);
    const normal = normaliseDevicePath(path);
    if (node && !node.offline && E.isRight(normal)) wanted.push({ node: node.name, path: normal.right });
  }
  const seen = new Map<string, DeviceSighting>();
  for (const { node, path } of wanted) {
    if (seen.has(path)) continue;
    seen.set(path, await ctx.identifyDevice(node, path));
  }
  return seen;
};
