import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/**
 * What a block device is built from and what is built on it, read from sysfs
 * (/sys/dev/block/MAJ:MIN). The same blocks can be reached under several device
 * numbers — two loop devices over one file, a partition and its disk, a mapped (dm)
 * device and the devices under it — so a device's own number is not enough to tell
 * that two instances would share storage.
 */

const read = async (path: string): Promise<string | undefined> => {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch {
    return undefined;
  }
};
const list = async (path: string): Promise<string[]> => {
  try {
    return (await readdir(path)).sort();
  } catch {
    return [];
  }
};

/** A loop device's backing file as `file DEV:INO@OFFSET+SIZELIMIT`, whatever name it was given. */
const backingFile = async (sys: string): Promise<string | undefined> => {
  const file = await read(join(sys, 'loop', 'backing_file'));
  if (!file) return undefined;
  const [offset, limit] = await Promise.all([read(join(sys, 'loop', 'offset')), read(join(sys, 'loop', 'sizelimit'))]);
  try {
    const info = await stat(file, { bigint: true });
    return `file ${info.dev}:${info.ino}@${offset ?? 0}+${limit ?? 0}`;
  } catch {
    // A deleted backing file cannot be reached again by name, so nothing else can share it by name.
    return `file ${file}@${offset ?? 0}+${limit ?? 0}`;
  }
};

/** The devices a device rests on: a partition's disk, a mapped device's slaves. */
const parents = async (sys: string): Promise<string[]> => {
  const found: string[] = [];
  if ((await read(join(sys, 'partition'))) !== undefined) {
    const number = await read(join(dirname(await realpath(sys)), 'dev'));
    if (number) found.push(number);
  }
  for (const slave of await list(join(sys, 'slaves'))) {
    const number = await read(join(sys, 'slaves', slave, 'dev'));
    if (number) found.push(number);
  }
  return found;
};

/**
 * Every identity under `deviceNumber`'s blocks: its parents' numbers and loop backing
 * files, recursively (a partition of a loop device reads the loop's file). Stacks are
 * shallow in practice; the depth bound only guards against a looping sysfs.
 */
export const underlyingOf = async (deviceNumber: string, depth = 0): Promise<string[]> => {
  if (depth > 8) return [];
  const sys = `/sys/dev/block/${deviceNumber}`;
  const keys: string[] = [];
  const file = await backingFile(sys);
  if (file) keys.push(file);
  for (const parent of await parents(sys)) keys.push(`device ${parent}`, ...(await underlyingOf(parent, depth + 1)));
  return [...new Set(keys)];
};

/** Why something else already uses the device — partitions or holders (dm, md) on it — or undefined. */
export const busyReason = async (deviceNumber: string): Promise<string | undefined> => {
  const sys = `/sys/dev/block/${deviceNumber}`;
  const holders = await list(join(sys, 'holders'));
  if (holders.length > 0) return `has ${holders.join(', ')} built on it`;
  const partitions: string[] = [];
  for (const entry of await list(sys)) if ((await read(join(sys, entry, 'partition'))) !== undefined) partitions.push(entry);
  if (partitions.length > 0) return `has partitions (${partitions.join(', ')})`;
  return undefined;
};
