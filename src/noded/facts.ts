import { readFileSync, statfsSync } from 'node:fs';
import { cpus, hostname } from 'node:os';
import type { NodeFacts } from '../domain/ports/node-reach.js';

export type { NodeFacts } from '../domain/ports/node-reach.js';

const KIB_PER_MIB = 1024;

/** /proc/meminfo's `Key: N kB` lines; a kernel without MemAvailable (before 3.14) gives MemFree. */
export const parseMeminfo = (text: string): { totalMib: number; freeMib: number } => {
  const value = (key: string): number | undefined => {
    const match = new RegExp(`^${key}:\\s+(\\d+) kB$`, 'm').exec(text);
    return match ? Number(match[1]) : undefined;
  };
  const total = value('MemTotal');
  const free = value('MemAvailable') ?? value('MemFree');
  if (total === undefined || free === undefined) throw new Error('/proc/meminfo has no MemTotal or MemAvailable line');
  return { totalMib: Math.floor(total / KIB_PER_MIB), freeMib: Math.floor(free / KIB_PER_MIB) };
};

const storageOf = (path: string): NodeFacts['storage'][number] => {
  try {
    const s = statfsSync(path);
    const mib = (blocks: number) => Math.floor((blocks * s.bsize) / (1024 * 1024));
    return { path, totalMib: mib(s.blocks), freeMib: mib(s.bavail) };
  } catch (error) {
    return { path, totalMib: 0, freeMib: 0, error: (error as NodeJS.ErrnoException).code ?? String(error) };
  }
};

export const readNodeFacts = (name: string, storageDirs: readonly string[]): Omit<NodeFacts, 'instances'> => {
  const memory = parseMeminfo(readFileSync('/proc/meminfo', 'utf8'));
  return {
    name,
    hostname: hostname(),
    memoryTotalMib: memory.totalMib,
    memoryFreeMib: memory.freeMib,
    cpus: cpus().length,
    storage: storageDirs.map(storageOf),
    time: Date.now(),
  };
};
