import * as E from 'fp-ts/lib/Either.js';
import type { Either } from 'fp-ts/lib/Either.js';
import type { DiskTarget } from './ports/disk-storage.js';
import { logicalIdProblem } from './logical-ids.js';

/**
 * The storage-driver protocol: the seed's one-executable-per-action interface, with
 * Ganeti's later ExtStorage variables exported beside it so that providers written
 * for Ganeti run unchanged.
 */
export type DriverAction = 'create' | 'resize' | 'rename' | 'remove' | 'attach' | 'detach' | 'verify';

/** `ganeti`: an ExtStorage provider (prints nothing from create, grows with `grow`). */
export type DriverStyle = 'opledger' | 'ganeti';

/** The name Ganeti would give the volume; ours when a Ganeti-style driver makes one. */
export const proposedVolumeName = (target: DiskTarget): string => `${target.instance.uuid}.ext.disk${target.disk.index}`;

/** Every variable a driver is given, but the pool's and disk's own parameters (`EXTP_NAME`). */
export const PROTOCOL_VARIABLES = [
  'INSTANCE_NAME', 'INSTANCE_UUID', 'INSTANCE_TAGS', 'DISK_INDEX', 'POOL', 'NODE_NAME', 'VOL_NAME', 'VOL_CNAME', 'VOL_UUID',
  'VOL_SIZE', 'LOGICAL_ID', 'DISK_SIZE', 'VOL_NEW_SIZE', 'NEW_INSTANCE_NAME',
] as const;
export const DRIVER_ACTIONS: readonly DriverAction[] = ['create', 'resize', 'rename', 'remove', 'attach', 'detach', 'verify'];

export const driverEnvironment = (
  action: DriverAction,
  target: DiskTarget,
  extra: { sizeMib?: number; newInstanceName?: string } = {},
): Record<string, string> => {
  const logicalId = target.disk.logicalId;
  const env: Record<string, string> = {
    INSTANCE_NAME: target.instance.name,
    INSTANCE_UUID: target.instance.uuid,
    INSTANCE_TAGS: target.instance.tags.join(' '),
    DISK_INDEX: String(target.disk.index),
    POOL: target.pool?.name ?? target.disk.pool ?? '',
    NODE_NAME: target.nodeName,
    VOL_NAME: logicalId !== '' ? logicalId : proposedVolumeName(target),
    VOL_CNAME: `${target.instance.name}-disk${target.disk.index}`,
    VOL_UUID: proposedVolumeName(target),
    VOL_SIZE: String(action === 'create' ? (extra.sizeMib ?? target.disk.sizeMib) : target.disk.sizeMib),
  };
  if (logicalId !== '') env.LOGICAL_ID = logicalId;
  if (action === 'create' || action === 'resize') env.DISK_SIZE = String(extra.sizeMib ?? target.disk.sizeMib);
  if (action === 'resize') env.VOL_NEW_SIZE = String(extra.sizeMib ?? target.disk.sizeMib);
  if (action === 'rename' && extra.newInstanceName !== undefined) env.NEW_INSTANCE_NAME = extra.newInstanceName;
  for (const [key, value] of Object.entries({ ...(target.pool?.params ?? {}), ...target.disk.params })) {
    env[`EXTP_${key.toUpperCase()}`] = value;
  }
  return env;
};

const firstLine = (stdout: string): string => stdout.split('\n').map((l) => l.trim()).find((l) => l !== '') ?? '';
const shown = (text: string): string => JSON.stringify(text.length > 60 ? `${text.slice(0, 57)}...` : text);

/**
 * The logical id `create` or `rename` printed (its first line), or why it is not one
 * (see logical-ids.ts: what a logical id may be).
 */
export const parseLogicalId = (action: 'create' | 'rename', stdout: string): Either<string, string> => {
  const line = firstLine(stdout);
  if (line === '') return E.left(`${action} exited 0 but printed no logical id`);
  const problem = logicalIdProblem(line);
  if (problem !== undefined) return E.left(`${action} printed something that is not a logical id: ${problem}`);
  return E.right(line);
};

/** The size `resize` printed, in MiB, which must be at least the size asked for. */
export const parseResizedSize = (stdout: string, askedMib: number): Either<string, number> => {
  const line = firstLine(stdout);
  if (line === '') return E.left('resize exited 0 but printed no size');
  if (!/^\d+$/.test(line)) return E.left(`resize printed ${shown(line)} where the new size in MiB was expected`);
  const size = Number(line);
  if (size < askedMib) return E.left(`resize reports ${size} MiB, less than the ${askedMib} MiB asked for`);
  return E.right(size);
};

/** `attach`: the block device path on the first line, then optional `hypervisor:uri` lines. */
export const parseAttach = (stdout: string): Either<string, { device: string; uris: Record<string, string> }> => {
  const lines = stdout.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const device = lines[0];
  if (!device) return E.left('attach exited 0 but printed no device path');
  if (!device.startsWith('/')) return E.left(`attach printed ${shown(device)} where a device path was expected`);
  const uris: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) return E.left(`attach printed ${shown(line)} where a hypervisor:uri line was expected`);
    uris[line.slice(0, colon)] = line.slice(colon + 1);
  }
  return E.right({ device, uris });
};
