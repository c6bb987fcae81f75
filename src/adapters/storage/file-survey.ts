import { constants, type Dirent } from 'node:fs';
import { access, open, readdir, readFile, stat, unlink } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { Probe } from '../../domain/ports/node-storage-check.js';
import type { StorageSurvey } from '../../domain/verify-disks.js';

/** Disk files are `INSTANCE/diskN`; anything else in the directories is not ours to judge. */
const DISK_FILE = /^disk\d+$/;
const PROBE = /^\.opl-verify-[A-Za-z0-9._-]{1,200}$/;

const list = async (dir: string): Promise<Dirent[]> => {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
};

/** `INSTANCE/diskN` files below DIR; links are not followed (a link is not one of our disks). */
const diskFiles = async (dir: string): Promise<string[]> => {
  const found: string[] = [];
  for (const entry of await list(dir)) {
    if (!entry.isDirectory()) continue;
    for (const file of await list(join(dir, entry.name))) if (file.isFile() && DISK_FILE.test(file.name)) found.push(`${entry.name}/${file.name}`);
  }
  return found.sort();
};

const directoryProblem = async (path: string): Promise<string | undefined> => {
  try {
    // The directory itself is the operator's to name (a mount, a link to one); what is in it is ours.
    if (!(await stat(path)).isDirectory()) return `shared file storage directory ${path} is not a directory`;
  } catch {
    return `shared file storage directory ${path} is missing`;
  }
  try {
    await access(path, constants.W_OK);
  } catch {
    return `shared file storage directory ${path} is not writable`;
  }
  return undefined;
};

/**
 * What a node holds in its `file` directory and sees in the shared one. `allowed` lists
 * the directories the node was given (a daemon's storageDirs); absent: any (local nodes,
 * whose directories are the engine's own).
 */
export const surveyFiles = async (fileDir: string, sharedDir: string | undefined, allowed?: readonly string[], probe?: Probe): Promise<StorageSurvey> => {
  const fileDisks = await diskFiles(fileDir);
  if (sharedDir === undefined) return { fileDisks };
  if (allowed && !allowed.some((d) => posix.normalize(d).replace(/\/+$/, '') === sharedDir)) {
    return { fileDisks, sharedProblem: `shared file storage directory ${sharedDir} is not one of its storage directories (its node.json storageDirs: ${allowed.length ? allowed.join(', ') : 'none'})` };
  }
  const problem = await directoryProblem(sharedDir);
  if (problem) return { fileDisks, sharedProblem: problem };
  if (probe) await writeProbe(sharedDir, probe);
  return { fileDisks, sharedDisks: (await diskFiles(sharedDir)).map((name) => posix.join(sharedDir, name)) };
};

const probeName = (name: string) => {
  if (!PROBE.test(name)) throw new Error(`'${name}' is not a probe file name (.opl-verify-…)`);
  return name;
};

/** Writes the probe, failing if a file of that name is there already (never through a link). */
export const writeProbe = async (sharedDir: string, probe: Probe): Promise<void> => {
  const file = await open(join(sharedDir, probeName(probe.name)), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    await file.writeFile(probe.token);
  } finally {
    await file.close();
  }
};

/** The probes that cannot be read here, or hold another token. */
export const unseenProbes = async (sharedDir: string, probes: readonly Probe[]): Promise<Probe[]> => {
  // All at once: a daemon among many on few cores would otherwise wait its turn once per file.
  const read = await Promise.all(
    probes.map((probe) => readFile(join(sharedDir, probeName(probe.name)), { encoding: 'utf8', flag: constants.O_RDONLY | constants.O_NOFOLLOW }).catch(() => undefined)),
  );
  return probes.filter((probe, i) => read[i] !== probe.token);
};

export const removeProbe = async (sharedDir: string, name: string): Promise<void> => {
  await unlink(join(sharedDir, probeName(name))).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
  });
};
