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
  | {
      kind: 'device';
      deviceNumber: string;
      sizeBytes: number;
      resolved: string;
      /**
       * What the device is built from, as keys shared with every other device reaching
       * the same blocks: `device M:m` of a partition's disk or a mapped device's slaves,
       * `file DEV:INO@OFFSET+LIMIT` of a loop device's backing file (recursively).
       */
      underlying?: string[];
      /** Why something else already uses the device (its partitions, holders such as dm). */
      busy?: string;
    }
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
export const deviceKeys = (path: string, deviceNumber: string | undefined, underlying: readonly string[] = []): string[] => {
  const normal = normaliseDevicePath(path);
  return [`path ${E.isRight(normal) ? normal.right : path}`, ...(deviceNumber ? [`device ${deviceNumber}`] : []), ...underlying];
};

/** Every identity the blocks of a device are known by: its own number and what it is built from. */
export const identitiesOf = (deviceNumber: string | undefined, underlying: readonly string[] | undefined): string[] =>
  [...(deviceNumber ? [`device ${deviceNumber}`] : []), ...(underlying ?? [])];

/**
 * Why two devices reach the same blocks, in words for a refusal ("X <why> Y"), or
 * undefined when their identities do not meet.
 */
export const overlapReason = (
  mine: { deviceNumber: string; underlying?: readonly string[] },
  theirs: { deviceNumber?: string; underlying?: readonly string[] },
): string | undefined => {
  const other = new Set(identitiesOf(theirs.deviceNumber, theirs.underlying));
  const shared = identitiesOf(mine.deviceNumber, mine.underlying).find((k) => other.has(k));
  if (shared === undefined) return undefined;
  if (mine.deviceNumber === theirs.deviceNumber) return 'is the same device as';
  if (shared.startsWith('file ')) return 'reads the same file as';
  if (shared === `device ${theirs.deviceNumber}`) return 'is built on (a partition of or mapped onto)';
  if (shared === `device ${mine.deviceNumber}`) return 'lies under';
  return `shares the underlying ${shared} with`;
};

/** A recorded disk's identity: recorded with it, or (older events) as observed now. */
const identityOf = (disk: DiskRecord, observed: DeviceObservations | undefined): { deviceNumber?: string; underlying?: string[] } => {
  if (disk.deviceNumber && disk.underlying) return { deviceNumber: disk.deviceNumber, underlying: disk.underlying };
  const normal = normaliseDevicePath(disk.logicalId);
  const seen = E.isRight(normal) ? observed?.get(normal.right) : undefined;
  if (seen?.kind !== 'device') return { deviceNumber: disk.deviceNumber };
  // What it is built from is taken from now only while it is still the device recorded.
  if (disk.deviceNumber && seen.deviceNumber !== disk.deviceNumber) return { deviceNumber: disk.deviceNumber };
  return { deviceNumber: seen.deviceNumber, underlying: seen.underlying };
};

/**
 * Who already adopted this device or this path, or blocks it shares (one file under
 * two loop devices, a partition and its disk, a mapped device and what it maps):
 * the instance, the name it used and how the two meet.
 */
export const deviceOwner = (
  state: ClusterState,
  path: string,
  mine: { deviceNumber: string; underlying?: readonly string[] },
  observed: DeviceObservations | undefined,
): { instance: string; path: string; why: string } | undefined => {
  for (const instance of state.instances.values()) {
    for (const disk of instance.disks) {
      if (!disk.adopted) continue;
      const normal = normaliseDevicePath(disk.logicalId);
      if (E.isRight(normal) && normal.right === path) return { instance: instance.name, path: disk.logicalId, why: 'is the same device as' };
      const why = overlapReason(mine, identityOf(disk, observed));
      if (why) return { instance: instance.name, path: disk.logicalId, why };
    }
  }
  return undefined;
};

/**
 * Adopted paths recorded without a device number or without what the device is built
 * from (events from before these were recorded): the engine looks at them too, so an
 * alias of one of them, or another device over the same blocks, is recognised.
 */
export const unnumberedAdoptedPaths = (state: ClusterState): { nodeUuid: string; path: string }[] =>
  [...state.instances.values()].flatMap((i) =>
    i.disks.filter((d) => d.adopted && (!d.deviceNumber || !d.underlying)).map((d) => ({ nodeUuid: i.primaryNodeUuid, path: d.logicalId })),
  );
