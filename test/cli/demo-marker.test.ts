import { chownSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { newSite } from './opl.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A shared directory holding someone's file, and a marker someone else planted. */
const planted = (plant: (marker: string) => void): string => {
  const dir = mkdtempSync(join(tmpdir(), 'opl-shared-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'precious'), 'keep me\n');
  plant(join(dir, '.opl-demo'));
  return dir;
};

describe('opl demo --data-dir with a planted .opl-demo', () => {
  it.each([
    ['belongs to another user', (marker: string) => {
      writeFileSync(marker, 'made by opl demo\n');
      chownSync(marker, 65534, 65534);
    }, /its \.opl-demo belongs to uid 65534/],
    ['is a symbolic link', (marker: string) => symlinkSync('/etc/hostname', marker), /its \.opl-demo is not a plain file/],
  ])('refuses a directory whose marker %s, and leaves it as it was', async (_what, plant, why) => {
    const dir = planted(plant);
    const before = readdirSync(dir).sort();
    const r = await newSite().opl('demo', '--data-dir', dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^opl: demo: --data-dir ${dir} was not made by 'opl demo' run by this user \\(`));
    expect(r.stderr).toMatch(why);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(readdirSync(dir).sort()).toEqual(before);
  });
});
