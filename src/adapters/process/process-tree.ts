import { readdir, readFile } from 'node:fs/promises';

/**
 * The processes one external call started, found through /proc (Linux). A process
 * group is not enough: a driver's child that called setsid(2) leaves both our group
 * and our session, and only its parent link still ties it to the call — until that
 * parent exits and it is handed to init. The call's containment (containment.ts: a
 * cgroup, and a marker in the environment children inherit) finds those too; a
 * timeout ends both.
 */
interface ProcessInfo {
  pid: number;
  ppid: number;
  pgrp: number;
  session: number;
  zombie: boolean;
  /** Clock ticks since boot: tells a process from a later one given the same pid. */
  startTime: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const POLL_MS = 20;

const readProcess = async (pid: number): Promise<ProcessInfo | undefined> => {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  // The command name (field 2) may hold spaces and parentheses: fields resume after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const [state, ppid, pgrp, session] = fields;
  return { pid, ppid: Number(ppid), pgrp: Number(pgrp), session: Number(session), zombie: state === 'Z' || state === 'X', startTime: fields[19] ?? '' };
};

/** Every process, or undefined where there is no /proc to read. */
const listProcesses = async (): Promise<ProcessInfo[] | undefined> => {
  const names = await readdir('/proc').catch(() => undefined);
  if (names === undefined) return undefined;
  const all = await Promise.all(names.filter((n) => /^\d+$/.test(n)).map((n) => readProcess(Number(n))));
  return all.filter((p): p is ProcessInfo => p !== undefined);
};

const signalGroup = (pgid: number, signal: NodeJS.Signals | 0): boolean => {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** Whether anything of the process group `pgid` still runs (zombies do not count). */
export const groupAlive = async (pgid: number): Promise<boolean> => {
  if (!signalGroup(pgid, 0)) return false;
  const leader = await readProcess(pgid);
  if (leader && !leader.zombie && leader.pgrp === pgid) return true;
  const all = await listProcesses();
  if (all === undefined) return true; // no /proc: kill(2) said the group exists
  return all.some((p) => p.pgrp === pgid && !p.zombie);
};

/** The live members of the group `leader` leads and of its session, and all their descendants. */
const membersOf = async (leader: number): Promise<ProcessInfo[]> => {
  const all = (await listProcesses()) ?? [];
  const inCall = new Set(all.filter((p) => p.pgrp === leader || p.session === leader || p.pid === leader).map((p) => p.pid));
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of all) {
      if (!inCall.has(p.pid) && inCall.has(p.ppid)) {
        inCall.add(p.pid);
        grew = true;
      }
    }
  }
  return all.filter((p) => inCall.has(p.pid) && !p.zombie);
};

const stillThere = async (p: ProcessInfo): Promise<boolean> => {
  const now = await readProcess(p.pid);
  return now !== undefined && !now.zombie && now.startTime === p.startTime;
};

const signalEach = async (processes: readonly ProcessInfo[], signal: NodeJS.Signals) => {
  for (const p of processes) {
    if (!(await stillThere(p))) continue;
    try {
      process.kill(p.pid, signal);
    } catch {
      // gone meanwhile, or not ours to signal
    }
  }
};

const waitGone = async (processes: readonly ProcessInfo[], pgid: number, withinMs: number): Promise<boolean> => {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const left = await Promise.all(processes.map(stillThere));
    if (!left.some(Boolean) && !(await groupAlive(pgid))) return true;
    if (Date.now() >= deadline) return false;
    await sleep(POLL_MS);
  }
};

/**
 * Ends everything a call started: SIGTERM to each, SIGKILL after `graceMs` to what is
 * left (looked for again, in case the first signal made new orphans), then waits a
 * bounded time for them to be gone. Answers whether they are.
 */
export const killCallProcesses = async (leader: number, graceMs: number): Promise<boolean> => {
  let targets = await membersOf(leader);
  signalGroup(leader, 'SIGTERM');
  await signalEach(targets, 'SIGTERM');
  if (await waitGone(targets, leader, graceMs)) return true;
  const again = await membersOf(leader);
  targets = [...targets, ...again.filter((p) => !targets.some((t) => t.pid === p.pid))];
  signalGroup(leader, 'SIGKILL');
  await signalEach(targets, 'SIGKILL');
  return waitGone(targets, leader, 2000);
};

/** This boot's id, so that a pid recorded before a reboot is not taken for a live process. */
export const bootId = async (): Promise<string | undefined> =>
  (await readFile('/proc/sys/kernel/random/boot_id', 'utf8').catch(() => undefined))?.trim();
