import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { NodeStorageCheck } from '../../../src/domain/ports/node-storage-check.js';

export interface StorageCheckSetup {
  check: NodeStorageCheck;
  /** A shared directory both nodes were given, on one file system. */
  shared: string;
  fileDirOf: (node: string) => string;
  nodes: [string, string];
}

/**
 * What every adapter answering cluster verify's file-storage questions promises, about
 * local nodes or through a node daemon: disk files listed as `INSTANCE/diskN` (links and
 * other names left out), a probe written by one node read by the other and removed, and
 * the shared directory's trouble said in one line.
 */
export const storageCheckContract = (label: string, setup: () => StorageCheckSetup) => {
  describe(`cluster verify's file-storage questions: ${label}`, () => {
    it('lists disk files in the file and shared directories, not links nor other names', async () => {
      const { check, shared, fileDirOf, nodes } = setup();
      const own = fileDirOf(nodes[0]);
      mkdirSync(join(own, 'web'), { recursive: true });
      writeFileSync(join(own, 'web', 'disk0'), '');
      writeFileSync(join(own, 'web', 'notes.txt'), '');
      symlinkSync('/etc/passwd', join(own, 'web', 'disk1'));
      mkdirSync(join(shared, 'db'), { recursive: true });
      writeFileSync(join(shared, 'db', 'disk0'), '');
      symlinkSync('/etc', join(shared, 'linked'));
      try {
        expect(await check.survey(nodes[0], shared)).toEqual({ fileDisks: ['web/disk0'], sharedDisks: [join(shared, 'db', 'disk0')] });
        expect(await check.survey(nodes[1], undefined)).toEqual({ fileDisks: [] });
      } finally {
        rmSync(join(own, 'web'), { recursive: true, force: true });
        rmSync(join(shared, 'db'), { recursive: true, force: true });
        rmSync(join(shared, 'linked'));
      }
    });

    it('has one node read the probe the other wrote, and removes it', async () => {
      const { check, shared, nodes } = setup();
      const probe = { name: '.opl-verify-t1-a', token: 'token-a' };
      await check.survey(nodes[0], shared, probe);
      expect(await check.unseen(nodes[1], shared, [probe])).toEqual([]);
      expect(await check.unseen(nodes[1], shared, [{ ...probe, token: 'another' }, { name: '.opl-verify-t1-none', token: 'x' }])).toEqual([
        { ...probe, token: 'another' },
        { name: '.opl-verify-t1-none', token: 'x' },
      ]);
      await check.removeProbe(nodes[0], shared, probe.name);
      await check.removeProbe(nodes[0], shared, probe.name);
      expect(await check.unseen(nodes[1], shared, [probe])).toEqual([probe]);
      await expect(check.unseen(nodes[1], shared, [{ name: '../../etc/passwd', token: '' }])).rejects.toThrow(/not a probe file name/);
    });

    it('says when the shared directory is missing', async () => {
      const { check, shared, nodes } = setup();
      rmSync(shared, { recursive: true, force: true });
      try {
        expect(await check.survey(nodes[0], shared, { name: '.opl-verify-t2-a', token: 't' })).toEqual({ fileDisks: [], sharedProblem: `shared file storage directory ${shared} is missing` });
      } finally {
        mkdirSync(shared);
      }
    });
  });
};
