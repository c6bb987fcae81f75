import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * What ties every process of one external call together, however it forks: a cgroup
 * of its own (cgroup v2, when this machine lets us make one), which no process can
 * leave without privileges, and always a marker in the environment
 * (OPL_CALL=<id>) that children inherit, `setsid` or not. The cgroup is ended with
 * `cgroup.kill`; without one, /proc/<pid>/environ is scanned for the marker.
 */
export const MARKER_VARIABLE = 'OPL_CALL';

export interface Containment {
  /** The marker's value, unique to the call. */
  id: string;
  /** The call's cgroup directory, when there is one. */
  cgroup?: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let parentOnce: Promise<string | undefined> | undefined;

/** The first cgroup v2 mount, from /proc/self/mounts. */
const cgroup2Mount = async (): Promise<string | undefined> => {
  const mounts = await readFile('/proc/self/mounts', 'utf8').catch(() => '');
  return mounts.split('\n').map((l) => l.split(' ')).find((f) => f[2] === 'cgroup2')?.[1];
};

/**
 * Where calls' cgroups are made: OPL_CGROUP_PARENT (a directory in a cgroup v2 tree,
 * or `none` to use the marker alone), else `opledger` under the cgroup v2 mount,
 * if we may make it (root, a writable tree). Undefined: markers only.
 */
export const cgroupParent = (env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> => {
  parentOnce ??= (async () => {
    const configured = env.OPL_CGROUP_PARENT;
    if (configured === 'none') return undefined;
    const mount = configured === undefined || configured === '' ? await cgroup2Mount() : undefined;
    const parent = configured !== undefined && configured !== '' ? configured : mount && join(mount, 'opledger');
    if (!parent) return undefined;
    const made = await mkdir(parent, { recursive: true }).then(() => true, () => false);
    // A cgroup directory has cgroup.procs of its own; a plain directory would not do.
    const isCgroup = await readFile(join(parent, 'cgroup.procs'), 'utf8').then(() => true, () => false);
    return made && isCgroup ? parent : undefined;
  })();
  return parentOnce;
};

/** Forgets what cgroupParent found (tests switch between the cgroup and the marker). */
export const resetCgroupParent = (): void => {
  parentOnce = undefined;
};

/** A containment for one call: `key` names it (a journaled call's id), or a fresh one is made. */
export const openContainment = async (key?: string): Promise<Containment> => {
  const id = key === undefined ? `run-${process.pid}-${randomBytes(6).toString('hex')}` : `call-${createHash('sha256').update(key).digest('hex').slice(0, 24)}`;
  const parent = await cgroupParent();
  if (!parent) return { id };
  const dir = join(parent, id);
  const made = await mkdir(dir).then(
    () => true,
    (error: NodeJS.ErrnoException) => error.code === 'EEXIST',
  );
  return made ? { id, cgroup: dir } : { id };
};

/**
 * Shell lines a wrapper runs first, given the cgroup directory as "$1" (empty: none):
 * it moves itself into the call's cgroup before the program starts, so that nothing
 * the program starts is ever outside it. Failing that, the marker still holds.
 */
export const ENTER_CGROUP = 'if [ -n "$1" ]; then echo $$ >"$1/cgroup.procs" 2>/dev/null; fi; shift';

export const markerEnv = (c: Containment): Record<string, string> => ({ [MARKER_VARIABLE]: c.id });

const pidsInCgroup = async (dir: string): Promise<number[]> =>
  (await readFile(join(dir, 'cgroup.procs'), 'utf8').catch(() => ''))
    .split('\n')
    .filter((l) => /^\d+$/.test(l))
    .map(Number);

const isZombie = async (pid: number): Promise<boolean> => {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (text === undefined) return true;
  const state = text.slice(text.lastIndexOf(')') + 2).split(' ')[0];
  return state === 'Z' || state === 'X';
};

/** Live processes whose environment carries this call's marker. */
const pidsWithMarker = async (c: Containment): Promise<number[]> => {
  const needle = Buffer.from(`\0${MARKER_VARIABLE}=${c.id}\0`);
  const first = Buffer.from(`${MARKER_VARIABLE}=${c.id}\0`);
  const names = (await readdir('/proc').catch(() => [] as string[])).filter((n) => /^\d+$/.test(n) && Number(n) !== process.pid);
  const found = await Promise.all(
    names.map(async (n) => {
      const environ = await readFile(`/proc/${n}/environ`).catch(() => undefined);
      return environ && (environ.includes(needle) || environ.subarray(0, first.length).equals(first)) ? Number(n) : undefined;
    }),
  );
  return found.filter((p): p is number => p !== undefined);
};

/** Every live process of the call: its cgroup's and the marker's. */
export const containedPids = async (c: Containment): Promise<number[]> => {
  const pids = new Set([...(c.cgroup ? await pidsInCgroup(c.cgroup) : []), ...(await pidsWithMarker(c))]);
  const live = await Promise.all([...pids].map(async (p) => ((await isZombie(p)) ? undefined : p)));
  return live.filter((p): p is number => p !== undefined);
};

const signalAll = (pids: readonly number[], signal: NodeJS.Signals) => {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // gone meanwhile
    }
  }
};

const POLL_MS = 20;

const gone = async (c: Containment, withinMs: number): Promise<boolean> => {
  const deadline = Date.now() + withinMs;
  for (;;) {
    if ((await containedPids(c)).length === 0) return true;
    if (Date.now() >= deadline) return false;
    await sleep(POLL_MS);
  }
};

/**
 * Ends whatever of a call still runs: SIGTERM, then after `graceMs` SIGKILL (and
 * `cgroup.kill`, which reaches processes started meanwhile too), then removes the
 * call's cgroup. Answers whether nothing of the call is left.
 */
export const endContainment = async (c: Containment, graceMs: number): Promise<boolean> => {
  const first = await containedPids(c);
  let ended = first.length === 0;
  if (!ended) {
    signalAll(first, 'SIGTERM');
    ended = await gone(c, graceMs);
  }
  for (let round = 0; !ended && round < 5; round++) {
    if (c.cgroup) await writeFile(join(c.cgroup, 'cgroup.kill'), '1').catch(() => undefined);
    signalAll(await containedPids(c), 'SIGKILL');
    ended = await gone(c, 1000);
  }
  if (c.cgroup) {
    // The kernel lets go of a cgroup's last (zombie) tasks a moment after they die.
    for (let i = 0; i < 100; i++) {
      if (await rmdir(c.cgroup).then(() => true, (e: NodeJS.ErrnoException) => e.code === 'ENOENT')) break;
      await sleep(POLL_MS);
    }
  }
  return ended;
};
