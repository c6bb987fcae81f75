import { existsSync, readFileSync } from 'node:fs';

/** The pids a fixture recorded, one a line, once there are `count` of them (bounded wait). */
export const recordedPids = async (file: string, count: number, withinMs = 10_000): Promise<number[]> => {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const pids = existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => /^\d+$/.test(l)).map(Number) : [];
    if (pids.length >= count) return pids;
    if (Date.now() >= deadline) throw new Error(`${file} holds ${pids.length} pids after ${withinMs} ms, expected ${count}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

/** Whether a process runs (a zombie, dead and waiting to be reaped, does not). */
export const alive = (pid: number): boolean => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
};

/**
 * The pids still running after a bounded wait (polling /proc): empty when all ended.
 * Whatever is left is killed, so that a failing test leaves nothing behind either.
 */
export const survivors = async (pids: readonly number[], withinMs = 5000): Promise<number[]> => {
  const deadline = Date.now() + withinMs;
  let left = pids.filter(alive);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
    left = left.filter(alive);
  }
  for (const pid of left) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  return left;
};
