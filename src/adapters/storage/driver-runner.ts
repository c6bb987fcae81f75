import { access, constants, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { DriverAction, DriverStyle } from '../../domain/driver-protocol.js';
import { runJournaled } from '../process/journaled-run.js';
import { runBounded, type BoundedRun } from '../process/run-bounded.js';

/** Ganeti's ExtStorage providers are found here, after OPL_STORAGE_DRIVER_PATH. */
export const GANETI_EXTSTORAGE_DIR = '/usr/share/ganeti/extstorage';
const OUTPUT_LIMIT = 64 * 1024;

export const driverSearchPath = (env: NodeJS.ProcessEnv): string[] => [
  ...(env.OPL_STORAGE_DRIVER_PATH ?? '').split(':').filter((p) => p !== ''),
  GANETI_EXTSTORAGE_DIR,
];

/** A file we may execute: a directory is searchable with X_OK too, and running it fails. */
const isExecutable = async (path: string) => (await stat(path).then((s) => s.isFile(), () => false)) && access(path, constants.X_OK).then(() => true, () => false);
const isDirectory = (path: string) => stat(path).then((s) => s.isDirectory(), () => false);

export const findDriver = async (name: string, searchPath: readonly string[]): Promise<string | undefined> => {
  for (const dir of searchPath) {
    // Absolute, so that it means the same once recorded with a pool; links are kept
    // (an operator may point one at a provider's new version).
    if (await isDirectory(join(dir, name))) return resolve(join(dir, name));
  }
  return undefined;
};

export interface DriverScripts {
  dir: string;
  style: DriverStyle;
  /** The executable for an action, if the driver has one (`grow` standing in for `resize`). */
  script(action: DriverAction): Promise<string | undefined>;
}

export const driverScripts = async (dir: string): Promise<DriverScripts> => {
  const has = (file: string) => isExecutable(join(dir, file));
  const ganeti = (await stat(join(dir, 'parameters.list')).then(() => true, () => false)) || (!(await has('resize')) && (await has('grow')));
  return {
    dir,
    style: ganeti ? 'ganeti' : 'opledger',
    async script(action) {
      if (await has(action)) return join(dir, action);
      if (action === 'resize' && (await has('grow'))) return join(dir, 'grow');
      return undefined;
    },
  };
};

/** The actions every pool needs (make and take back a disk) that a driver has no executable for. */
export const missingActions = async (scripts: DriverScripts): Promise<('create' | 'remove')[]> => {
  const missing: ('create' | 'remove')[] = [];
  for (const action of ['create', 'remove'] as const) if (!(await scripts.script(action))) missing.push(action);
  return missing;
};

export type DriverRun = BoundedRun;

/**
 * Runs one driver executable with no arguments and a clean environment: the
 * protocol's variables and PATH, nothing else of ours. With a journal, at most once
 * per call id: a retry of the call gets the first run's result (see runJournaled).
 */
export const runDriverScript = (
  path: string,
  env: Record<string, string>,
  timeoutMs: number,
  cwd: string,
  journal?: { dir: string; callId: string },
): Promise<DriverRun> => {
  const options = { env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', ...env }, cwd, timeoutMs, outputLimit: OUTPUT_LIMIT };
  return journal ? runJournaled(path, { ...options, journal }) : runBounded(path, options);
};

export interface DriverDiagnosis {
  driver: string;
  dir: string | null;
  style: DriverStyle | null;
  valid: boolean;
  problems: string[];
}

const REQUIRED: DriverAction[] = ['create', 'remove', 'attach', 'detach'];

/** Whether a driver directory has every executable the protocol needs, and what is wrong if not. */
export const diagnoseDriver = async (name: string, searchPath: readonly string[]): Promise<DriverDiagnosis> => {
  const dir = await findDriver(name, searchPath);
  if (!dir) return { driver: name, dir: null, style: null, valid: false, problems: [`not found in ${searchPath.join(':')}`] };
  const scripts = await driverScripts(dir);
  const problems: string[] = [];
  const needs = [...REQUIRED, 'resize' as const, ...(scripts.style === 'opledger' ? (['rename'] as const) : [])];
  for (const action of needs) {
    if (await scripts.script(action)) continue;
    const present = await stat(join(dir, action)).then(() => true, () => false);
    problems.push(present ? `'${action}' is not executable` : action === 'resize' ? "neither 'resize' nor 'grow' is there" : `no '${action}' executable`);
  }
  return { driver: name, dir, style: scripts.style, valid: problems.length === 0, problems };
};

/** Every driver directory on the search path, by name, first occurrence winning. */
export const listDrivers = async (searchPath: readonly string[]): Promise<string[]> => {
  const { readdir } = await import('node:fs/promises');
  const names = new Set<string>();
  for (const dir of searchPath) {
    for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      if (entry.isDirectory()) names.add(entry.name);
    }
  }
  return [...names].sort();
};
