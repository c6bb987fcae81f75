import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { runBounded } from '../../../src/adapters/process/run-bounded.js';

describe('runBounded', () => {
  it('feeds stdin, returns exit code, stdout and stderr', async () => {
    const r = await runBounded('/bin/sh', { args: ['-c', 'cat; echo oops >&2; exit 3'], input: 'hello', timeoutMs: 5000, outputLimit: 1024 });
    expect(r).toMatchObject({ exitCode: 3, stdout: 'hello', stderr: 'oops\n', timedOut: false });
  });

  it('bounds each stream', async () => {
    const r = await runBounded('/bin/sh', { args: ['-c', 'head -c 100000 /dev/zero | tr "\\0" x'], timeoutMs: 5000, outputLimit: 1000 });
    expect(r.stdout).toHaveLength(1000);
  });

  it('kills the whole process group at the timeout, grandchildren included', async () => {
    const marker = `opl-grandchild-${process.pid}-${Date.now()}`;
    const r = await runBounded('/bin/sh', { args: ['-c', `sh -c "exec -a ${marker} sleep 1000" & sleep 1000`], timeoutMs: 300, outputLimit: 1024 });
    expect(r).toMatchObject({ exitCode: null, timedOut: true });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const left = execFileSync('ps', ['-eo', 'args']).toString().split('\n').filter((l) => l.startsWith(marker));
    expect(left).toEqual([]);
  });

  it('reports a program that cannot start instead of throwing', async () => {
    const r = await runBounded('/nonexistent/program', { timeoutMs: 1000, outputLimit: 1024 });
    expect(r.exitCode).toBeNull();
    expect(r.stderr).toMatch(/ENOENT/);
  });
});
