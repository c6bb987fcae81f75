import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { newSite, ok } from './opl.js';

/** The README's first command runs this tour: it must keep working end to end. */
describe('opl demo', () => {
  it('builds its cluster, shows the refused job, the allocator\'s placements and the history', async () => {
    const site = newSite();
    const dir = join(mkdtempSync(join(tmpdir(), 'opl-demo-')), 'tour');
    const r = await ok(site.opl('demo', '--data-dir', dir));
    expect(r.stdout).toContain('$ opl instance add huge');
    // Job logs and refusals go to stderr, as from any opl command.
    expect(r.stderr).toMatch(/job \d+ failed: node 'node1' has 6144 MiB of memory free, 7168 MiB needed/);
    expect(r.stderr).toMatch(/asking iallocator opl-ialloc \(builtin:opl-ialloc\) where to place new instance app2/);
    expect(r.stderr).toMatch(/asking iallocator opl-ialloc \(builtin:opl-ialloc\) where to relocate app2/);
    site.env.OPL_DATA_DIR = dir;
    const jobs = await site.json<{ status: string }[]>('job', 'list');
    expect(jobs.filter((j) => j.status !== 'success').map((j) => j.status)).toEqual(['error']);
    const app2 = await site.json<{ primaryNode: string; adminState: string }>('instance', 'info', 'app2');
    expect(['node4', 'node5', 'node6']).toContain(app2.primaryNode); // only rack-b reaches pool nas1
    expect(app2.adminState).toBe('up');
  }, 120_000);
});
