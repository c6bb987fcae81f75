import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createFileDiskStorage } from '../../../src/adapters/storage/file-disks.js';
import type { DiskTarget } from '../../../src/domain/ports/disk-storage.js';

const ctx = { recordCall: async () => undefined, log: async () => undefined };
/** Size, mtime and the first bytes: a file grown by mistake is reported, not read whole. */
const fingerprint = (path: string) => {
  const s = statSync(path);
  const head = Buffer.alloc(64);
  const fd = openSync(path, 'r');
  const n = readSync(fd, head, 0, 64, 0);
  closeSync(fd);
  return { head: head.subarray(0, n).toString(), size: s.size, mtimeMs: s.mtimeMs };
};

/**
 * The check and the use are one: names are looked up in directories already opened,
 * so a link swapped in between is not followed either. A real process swaps the
 * instance directory and the disk file for links to files outside while the adapter
 * grows the disk again and again; whatever each call answers, nothing outside changes.
 */
describe('file disks under a directory that changes while they work', () => {
  it('never grows a file outside, however the swaps fall', async () => {
    const root = mkdtempSync(join(tmpdir(), 'opl-race-'));
    onTestFinished(() => rmSync(root, { recursive: true, force: true }));
    const shared = join(root, 'shared');
    const outside = join(root, 'outside');
    mkdirSync(join(outside, 'web'), { recursive: true });
    const victims = [join(outside, 'victim.img'), join(outside, 'web', 'disk0')];
    for (const v of victims) {
      writeFileSync(v, 'not ours');
      utimesSync(v, new Date('2020-01-01T00:00:00Z'), new Date('2020-01-01T00:00:00Z'));
    }
    const before = victims.map(fingerprint);
    mkdirSync(shared);
    const storage = createFileDiskStorage(join(root, 'nodes'));
    const target = (sizeMib: number): DiskTarget => ({
      nodeName: 'n1',
      template: 'sharedfile',
      instance: { name: 'web', uuid: 'u', tags: [] },
      disk: { index: 0, sizeMib, logicalId: join(shared, 'web', 'disk0'), params: {}, adopted: false },
      peers: ['n1'],
    });
    await storage.create(target(1), ctx);
    symlinkSync(join(outside, 'web'), join(shared, 'web-link'));
    symlinkSync(victims[0]!, join(shared, 'disk-link'));
    // Each round: the directory becomes a link and back, then the disk file does.
    const script = `cd '${shared}'; for i in $(seq 1 4000); do
      mv web web-real; mv web-link web; mv web web-link; mv web-real web;
      mv web/disk0 disk-real; mv disk-link web/disk0; mv web/disk0 disk-link; mv disk-real web/disk0;
    done`;
    const swapper = spawn('bash', ['-c', script], { stdio: 'ignore' });
    const answers = new Map<string, number>();
    try {
      for (let i = 2; i < 400 && swapper.exitCode === null; i++) {
        const answer = await storage.grow(target(i), i, ctx).then(
          () => 'grown',
          (e: Error) => e.message.replace(/^.*: '/, "'").replace(/;.*$/, ''),
        );
        answers.set(answer, (answers.get(answer) ?? 0) + 1);
      }
    } finally {
      swapper.kill();
      await new Promise((resolve) => (swapper.exitCode === null ? swapper.once('exit', resolve) : resolve(undefined)));
    }
    expect(victims.map(fingerprint)).toEqual(before);
    // Every answer is a growth or one of the refusals (or, mid-swap, a name not there).
    for (const answer of answers.keys()) {
      expect(answer).toMatch(/^(grown|'web' is a symbolic link, not a directory|'disk0' is a symbolic link|'(web|disk0)' changed while it was being opened|disk file .* is missing)$/);
    }
    expect(answers.get('grown') ?? 0).toBeGreaterThan(0);
  });
});
