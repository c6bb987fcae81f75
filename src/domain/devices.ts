import * as E from 'fp-ts/lib/Either.js';
import type { Either } from 'fp-ts/lib/Either.js';
import type { ClusterState } from './cluster-state.js';
import type { DiskRecord } from './events.js';

/**
 * Identity of adopted block devices. A device has many names — `/dev/disk/by-id`
 * links, `//` in a path, a second prefix — but one device number (major:minor), which
 * is what a path resolves to. Ownership is decided by that number, observed on the
 * node before the decision and recorded with the disk; the spelling only decides
 * whether a path is allowed at all (under a prefix).
 */

/** What a node saw at a path: the device it resolves to, or why it is none. */
export type DeviceSighting =
  | { kind: 'device'; deviceNumber: string; sizeBytes: number; resolved: string }
  | { kind: 'problem'; message: string };

/** Sightings by normalised path, made before deciding: the decider's only view of devices. */
export type DeviceObservations = ReadonlyMap<string, DeviceSighting>;

/**
 * An absolute path with `//` and a trailing `/` folded away, or why it is refused.
 * `.` and `..` are refused, not resolved: with links in the way, `a/../b` need not be `b`.
 */
export const normaliseDevicePath = (path: string): Either<string, string> => {
  if (!path.startsWith('/') || path.includes('\0')) return E.left('must be an absolute path without . or .. components');
  const parts = path.split('/').filter((c) => c !== '');
  if (parts.some((c) => c === '.' || c === '..')) return E.left('must be an absolute path without . or .. components');
  return E.right(`/${parts.join('/')}`);
};

/** A prefix as a directory: `/dev/disk/by-id/` and `/dev//disk/by-id` are `/dev/disk/by-id`. */
const prefixDir = (prefix: string): string => `/${prefix.split('/').filter((c) => c !== '').join('/')}`;

/**
 * Why a normalised path is not under any prefix, naming them; undefined when it is.
 * Prefixes are directories, so `/prefix2/x` is not under `/prefix`, and a prefix
 * itself is not a device under it.
 */
export const prefixProblem = (prefixes: readonly string[], path: string): string | undefined => {
  const dirs = prefixes.map(prefixDir);
  if (dirs.some((d) => d === '/' ? path !== '/' : path.startsWith(`${d}/`))) return undefined;
  const lookalike = dirs.find((d) => d !== '/' && path.startsWith(d));
  let why = 'it is inside none of these directories';
  if (lookalike && path === lookalike) why = 'that is the prefix directory itself, not a device inside it';
  else if (lookalike) {
    const end = path.indexOf('/', lookalike.length);
    why = `prefixes are directories, and '${end === -1 ? path : path.slice(0, end)}' is not inside '${lookalike}'`;
  }
  return `'${path}' is not under an allowed block device prefix (${dirs.join(', ')}): ${why}; see 'opl cluster modify --blockdev-prefixes'`;
};

/** The keys a device is known by for holds: its path always, its number once known. */
export const deviceKeys = (path: string, deviceNumber: string | undefined): string[] => {
  const normal = normaliseDevicePath(path);
  return [`path ${E.isRight(normal) ? normal.right : path}`, ...(deviceNumber ? [`device ${deviceNumber}`] : [])];
};

/** The device number of a recorded disk: recorded with it, or (older events) as observed now. */
const numberOf = (disk: DiskRecord, observed: DeviceObservations | undefined): string | undefined => {
  if (disk.deviceNumber) return disk.deviceNumber;
  const normal = normaliseDevicePath(disk.logicalId);
  const seen = E.isRight(normal) ? observed?.get(normal.right) : undefined;
  return seen?.kind === 'device' ? seen.deviceNumber : undefined;
};

/** Who already adopted this device (by number) or this path: the instance and the name it used. */
export const deviceOwner = (
  state: ClusterState,
  path: string,
  deviceNumber: string,
  observed: DeviceObservations | undefined,
): { instance: string; path: string } | undefined => {
  for (const instance of state.instances.values()) {
    for (const disk of instance.disks) {
      if (!disk.adopted) continue;
      const normal = normaliseDevicePath(disk.logicalId);
      const samePath = E.isRight(normal) && normal.right === path;
      if (samePath || numberOf(disk, observed) === deviceNumber) return { instance: instance.name, path: disk.logicalId };
    }
  }
  return undefined;
};

/**
 * Adopted paths recorded without a device number (events from before numbers were
 * recorded): the engine looks at them too, so an alias of one of them is recognised.
 */
export const unnumberedAdoptedPaths = (state: ClusterState): { nodeUuid: string; path: string }[] =>
  [...state.instances.values()].flatMap((i) =>
    i.disks.filter((d) => d.adopted && !d.deviceNumber).map((d) => ({ nodeUuid: i.primaryNodeUuid, path: d.logicalId })),
  );
