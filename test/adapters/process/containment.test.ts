import { chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { cgroupParent, resetCgroupParent } from '../../../src/adapters/process/containment.js';
import { runBounded } from '../../../src/adapters/process/run-bounded.js';
import { runJournaled } from '../../../src/adapters/process/journaled-run.js';
import { recordedPids, survivors } from './leftovers.js';

/**
 * A program that answers and exits at once, leaving a child that holds its stdout and
 * a grandchild in a session of its own (with a child of its own), all recording pids.
 */
const FORKER = [
  'pids=$1',
  'sh -c \'echo $$ >> "$1"; exec sleep 1000\' sh "$pids" &',
  'setsid sh -c \'sh -c "echo \\$\\$ >> \\"\\$1\\"; exec sleep 1000" sh "$1" & echo $$ >> "$1"; exec sleep 1000\' sh "$pids" </dev/null >/dev/null 2>&1 &',
  'while [ "$(wc -l < "$pids" 2>/dev/null || echo 0)" -lt 3 ]; do sleep 0.01; done',
  'echo answer',
].join('\n');

const work = mkdtempSync(join(tmpdir(), 'opl-containment-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const modes = [
  { name: 'in a cgroup of its own', parent: undefined },
  { name: 'with the marker only (no cgroup)', parent: 'none' },
] as const;

describe.each(modes)('programs we did not write, $name', ({ parent }) => {
  const saved = process.env.OPL_CGROUP_PARENT;
  const use = async () => {
    if (parent === undefined) delete process.env.OPL_CGROUP_PARENT;
    else process.env.OPL_CGROUP_PARENT = parent;
    resetCgroupParent();
    const cgroups = await cgroupParent();
    // This machine (root, cgroup v2 writable) makes cgroups; the marker mode must not.
    expect(cgroups === undefined).toBe(parent === 'none');
    return cgroups;
  };
  afterEach(() => {
    if (saved === undefined) delete process.env.OPL_CGROUP_PARENT;
    else process.env.OPL_CGROUP_PARENT = saved;
    resetCgroupParent();
  });
  const callsLeft = (cgroups: string | undefined) => (cgroups ? readdirSync(cgroups).filter((n) => /^(run|call)-/.test(n)) : []);

  it('runBounded takes the answer of a program whose child holds its stdout, and ends every process it left', async () => {
    const cgroups = await use();
    const pids = join(mkdtempSync(join(work, 'b-')), 'pids');
    const r = await runBounded('/bin/sh', { args: ['-c', FORKER, 'forker', pids], timeoutMs: 30_000, outputLimit: 1024 });
    expect(r).toMatchObject({ exitCode: 0, stdout: 'answer\n', timedOut: false });
    expect(await survivors(await recordedPids(pids, 3))).toEqual([]);
    expect(callsLeft(cgroups)).toEqual([]);
  });

  it('runJournaled answers at once and ends every process the call left, setsid grandchildren included', async () => {
    const cgroups = await use();
    const dir = mkdtempSync(join(work, 'j-'));
    const pids = join(dir, 'pids');
    const script = join(dir, 'forker');
    writeFileSync(script, `#!/bin/sh\nset -- "${pids}"\n${FORKER}\n`);
    chmodSync(script, 0o755);
    const r = await runJournaled(script, { timeoutMs: 30_000, outputLimit: 1024, journal: { dir: join(dir, 'journal'), callId: 'c-1' } });
    expect(r).toMatchObject({ exitCode: 0, stdout: 'answer\n', timedOut: false });
    expect(await survivors(await recordedPids(pids, 3))).toEqual([]);
    expect(callsLeft(cgroups)).toEqual([]);
  });

  it('at a timeout kills the program and everything it started', async () => {
    const cgroups = await use();
    const pids = join(mkdtempSync(join(work, 't-')), 'pids');
    const r = await runBounded('/bin/sh', { args: ['-c', `${FORKER}\nsleep 1000`, 'forker', pids], timeoutMs: 1500, outputLimit: 1024 });
    expect(r).toMatchObject({ exitCode: null, timedOut: true });
    expect(await survivors(await recordedPids(pids, 3))).toEqual([]);
    expect(callsLeft(cgroups)).toEqual([]);
  });
});
