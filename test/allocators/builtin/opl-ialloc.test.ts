import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { hbalScore } from '../../../bench/hbal-score.js';
import { allocateInput, relocateInput, type GanetiInput } from '../../../bench/ganeti-inputs.js';

/**
 * The `opl-ialloc` program (built into dist/ by `npm test`) beside Ganeti's own hail
 * on the same Ganeti-format requests, each placement scored by Ganeti's hbal.
 */
const OPL_IALLOC = fileURLToPath(new URL('../../../bin/opl-ialloc.js', import.meta.url));
const HAIL = '/usr/lib/ganeti/iallocators/hail';
const dir = mkdtempSync(join(tmpdir(), 'opl-ialloc-'));

interface Answer { success: boolean; info: string; result: string[] }
interface Ran { code: number; stdout: string; stderr: string }

const run = (program: string, args: string[], input?: string): Promise<Ran> =>
  new Promise((resolve) => {
    const child = execFile(program, args, (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }));
    if (input !== undefined) child.stdin!.end(input);
    else child.stdin!.end();
  });

const write = (name: string, body: unknown) => {
  const file = join(dir, name);
  writeFileSync(file, typeof body === 'string' ? body : JSON.stringify(body));
  return file;
};

const cases: [string, GanetiInput][] = [
  ['allocate on 20 nodes', allocateInput({ nodes: 20, perNode: 10, seed: 20 })],
  ['allocate on 30 nodes of other sizes', allocateInput({ nodes: 30, perNode: 10, seed: 5, nodeMemory: 49152 }, 4096)],
  ['relocate on 20 nodes', relocateInput({ nodes: 20, perNode: 10, seed: 11 })],
  ['allocate where only the global N+1 check refuses', allocateInput({ nodes: 4, perNode: 10, seed: 3, nodeMemory: 24576 }, 4096)],
  ['allocate on a snug cluster', allocateInput({ nodes: 20, perNode: 10, seed: 7, nodeMemory: 30720 }, 4096)],
  // Two groups (one last-resort), nodes of three sizes, an offline and a drained node,
  // local-disk instances: the first is refused because the spare group could not be
  // evacuated, whatever is placed in the other.
  ['allocate on a mixed cluster whose spare group is not N+1 redundant', allocateInput({ nodes: 12, perNode: 8, seed: 1, nodeMemory: 32768, mixed: true }, 4096)],
  ['allocate on a mixed cluster of 20 nodes', allocateInput({ nodes: 20, perNode: 8, seed: 2, nodeMemory: 32768, mixed: true }, 4096)],
  ['allocate on a mixed cluster of 40 nodes', allocateInput({ nodes: 40, perNode: 8, seed: 4, nodeMemory: 32768, mixed: true }, 4096)],
  ['relocate on a mixed cluster', relocateInput({ nodes: 12, perNode: 8, seed: 1, nodeMemory: 32768, mixed: true })],
];

describe('opl-ialloc beside hail', () => {
  it.each(cases)('%s: the same verdict, and a cluster score no worse by hbal', async (name, input) => {
    const file = write(`${name.replace(/\W+/g, '-')}.json`, input);
    const [ours, hail] = await Promise.all([run(process.execPath, [OPL_IALLOC, file]), run(HAIL, [file])]);
    expect(ours.code).toBe(0);
    const mine = JSON.parse(ours.stdout) as Answer;
    const theirs = JSON.parse(hail.stdout) as Answer;
    expect(mine.success).toBe(theirs.success);
    if (!theirs.success) return;
    expect(mine.result).toHaveLength(1);
    expect(hbalScore(dir, input, mine.result[0]!)).toBeLessThanOrEqual(hbalScore(dir, input, theirs.result[0]!) + 1e-9);
  });

  it('reads the request from stdin when given no file, with the same answer', async () => {
    const input = allocateInput({ nodes: 10, perNode: 5, seed: 1 });
    const fromFile = await run(process.execPath, [OPL_IALLOC, write('stdin-case.json', input)]);
    const fromStdin = await run(process.execPath, [OPL_IALLOC], JSON.stringify(input));
    expect(fromStdin).toEqual(fromFile);
    expect((JSON.parse(fromStdin.stdout) as Answer).success).toBe(true);
  });

  it('refuses what it cannot read with one line and exit 1; answers a malformed request with success false', async () => {
    const notJson = await run(process.execPath, [OPL_IALLOC, write('garbage.json', '{"nodes": ')]);
    expect(notJson.code).toBe(1);
    expect(notJson.stderr).toMatch(/^opl-ialloc: \S+garbage\.json is not JSON: .+\n$/);
    expect(notJson.stdout).toBe('');
    const missing = await run(process.execPath, [OPL_IALLOC, join(dir, 'absent.json')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^opl-ialloc: cannot read .*absent\.json: ENOENT/);
    const two = await run(process.execPath, [OPL_IALLOC, 'a.json', 'b.json']);
    expect(two.code).toBe(1);
    expect(two.stderr).toBe('opl-ialloc: expected at most one argument, a request file; got a.json b.json\n');
    const malformed = await run(process.execPath, [OPL_IALLOC, write('malformed.json', { request: { type: 'allocate', name: 'x' } })]);
    expect(malformed.code).toBe(0);
    expect(JSON.parse(malformed.stdout)).toMatchObject({ success: false, info: expect.stringMatching(/^not a Ganeti iallocator request: request\.memory/) });
    const help = await run(process.execPath, [OPL_IALLOC, '--help']);
    expect(help.stdout).toMatch(/^usage: opl-ialloc \[REQUEST-FILE\]/);
  });
});
