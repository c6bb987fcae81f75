import { existsSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFileDiskStorage } from '../../../src/adapters/storage/file-disks.js';
import type { DiskStorage, DiskTarget } from '../../../src/domain/ports/disk-storage.js';

const MIB = 1024 * 1024;
const ctx = { recordCall: async () => undefined, log: async () => undefined };

/**
 * Planted links and files in the storage directory, against the real adapter on real
 * files: whatever is refused, the file outside keeps its content, size and mtime, and
 * nothing appears outside.
 */
let root: string;
let shared: string;
let outside: string;
let victim: string;
let storage: DiskStorage;
const target = (logicalId: string, sizeMib = 4, template: 'sharedfile' | 'file' = 'sharedfile'): DiskTarget => ({
  nodeName: 'n1',
  template,
  instance: { name: 'web', uuid: 'u', tags: [] },
  disk: { index: 0, sizeMib, logicalId, params: {}, adopted: false },
  peers: ['n1'],
});
const disk = () => target(join(shared, 'web', 'disk0'));
const fingerprint = (path: string) => {
  const s = statSync(path);
  return { content: readFileSync(path, 'utf8'), size: s.size, mtimeMs: s.mtimeMs, ino: s.ino };
};
/** What the outside directory holds, every file in it at any depth. */
const outsideNow = () =>
  Object.fromEntries(
    (readdirSync(outside, { recursive: true }) as string[]).filter((name) => statSync(join(outside, name)).isFile()).map((name) => [name, fingerprint(join(outside, name))]),
  );
const refusedOneLine = async (work: Promise<unknown>, message: RegExp) => {
  const error = await work.then(
    () => expect.fail('expected a refusal'),
    (e: unknown) => e as Error,
  );
  expect(error.message).toMatch(message);
  expect(error.message).not.toContain('\n');
};

afterEach(() => rmSync(root, { recursive: true, force: true }));
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'opl-confined-'));
  shared = join(root, 'shared');
  outside = join(root, 'outside');
  mkdirSync(shared);
  mkdirSync(outside);
  victim = join(outside, 'victim.img');
  writeFileSync(victim, 'a file that is not ours');
  utimesSync(victim, new Date('2020-01-01T00:00:00Z'), new Date('2020-01-01T00:00:00Z'));
  storage = createFileDiskStorage(join(root, 'nodes'));
});

describe('file disks stay inside their directory whatever it holds', () => {
  it('create refuses a link planted at the disk name, and leaves the target alone', async () => {
    mkdirSync(join(shared, 'web'));
    symlinkSync(victim, join(shared, 'web', 'disk0'));
    const before = outsideNow();
    await refusedOneLine(storage.create(disk(), ctx), /^sharedfile disk .*\/web\/disk0: 'disk0' is a symbolic link; .* must be plain, inside .*\/shared \(nothing was changed\)$/);
    expect(outsideNow()).toEqual(before);
    expect(lstatSync(join(shared, 'web', 'disk0')).isSymbolicLink()).toBe(true);
  });

  it('create refuses a link planted for the instance directory, and makes nothing outside', async () => {
    symlinkSync(outside, join(shared, 'web'));
    const before = outsideNow();
    await refusedOneLine(storage.create(disk(), ctx), /'web' is a symbolic link, not a directory/);
    expect(outsideNow()).toEqual(before);
    expect(existsSync(join(outside, 'disk0'))).toBe(false);
  });

  it('create refuses a dangling link (it would make the file where the link points)', async () => {
    mkdirSync(join(shared, 'web'));
    symlinkSync(join(outside, 'new.img'), join(shared, 'web', 'disk0'));
    await refusedOneLine(storage.create(disk(), ctx), /'disk0' is a symbolic link/);
    expect(existsSync(join(outside, 'new.img'))).toBe(false);
  });

  it('grow refuses a disk replaced by a link, a hard link to a file elsewhere, or a link above it', async () => {
    await storage.create(disk(), ctx);
    const ours = join(shared, 'web', 'disk0');
    execFileSync('rm', [ours]);
    symlinkSync(victim, ours);
    const before = outsideNow();
    await refusedOneLine(storage.grow(disk(), 64, ctx), /'disk0' is a symbolic link/);
    execFileSync('rm', [ours]);
    linkSync(victim, ours);
    await refusedOneLine(storage.grow(disk(), 64, ctx), /'disk0' has 2 hard links; a disk file has one/);
    expect(outsideNow()).toEqual(before);
    execFileSync('rm', ['-r', join(shared, 'web')]);
    mkdirSync(join(outside, 'web'));
    writeFileSync(join(outside, 'web', 'disk0'), 'theirs');
    const withTheirs = outsideNow();
    symlinkSync(join(outside, 'web'), join(shared, 'web'));
    await refusedOneLine(storage.grow(disk(), 64, ctx), /'web' is a symbolic link, not a directory/);
    expect(outsideNow()).toEqual(withTheirs);
  });

  it('remove refuses a link at the disk name or for its directory, and removes nothing it points at', async () => {
    mkdirSync(join(shared, 'web'));
    symlinkSync(victim, join(shared, 'web', 'disk0'));
    const before = outsideNow();
    await refusedOneLine(storage.remove(disk(), ctx), /'disk0' is a symbolic link/);
    expect(lstatSync(join(shared, 'web', 'disk0')).isSymbolicLink()).toBe(true);
    execFileSync('rm', ['-r', join(shared, 'web')]);
    writeFileSync(join(outside, 'disk0'), 'theirs too');
    const withDisk0 = outsideNow();
    symlinkSync(outside, join(shared, 'web'));
    await refusedOneLine(storage.remove(disk(), ctx), /'web' is a symbolic link, not a directory/);
    expect(outsideNow()).toEqual(withDisk0);
    expect(Object.keys(before)).toEqual(['victim.img']);
    expect(Object.keys(withDisk0).sort()).toEqual(['disk0', 'victim.img']);
  });

  it('rename refuses a destination that exists or is a link, a source that is a link, and a linked directory', async () => {
    await storage.create(disk(), ctx);
    const moved = join(shared, 'web2', 'disk0');
    mkdirSync(join(shared, 'web2'));
    symlinkSync(victim, moved);
    const before = outsideNow();
    await refusedOneLine(storage.rename(disk(), 'web2', moved, ctx), /web2\/disk0: 'disk0' is a symbolic link; the new name must be free/);
    execFileSync('rm', [moved]);
    writeFileSync(moved, 'someone else');
    await refusedOneLine(storage.rename(disk(), 'web2', moved, ctx), /'disk0' already exists; the new name must be free/);
    expect(readFileSync(moved, 'utf8')).toBe('someone else');
    execFileSync('rm', ['-r', join(shared, 'web2')]);
    symlinkSync(outside, join(shared, 'web2'));
    await refusedOneLine(storage.rename(disk(), 'web2', moved, ctx), /'web2' is a symbolic link, not a directory/);
    expect(statSync(join(shared, 'web', 'disk0')).size).toBe(4 * MIB); // ours, untouched
    execFileSync('rm', [join(shared, 'web2'), join(shared, 'web', 'disk0')]);
    symlinkSync(victim, join(shared, 'web', 'disk0'));
    await refusedOneLine(storage.rename(disk(), 'web3', join(shared, 'web3', 'disk0'), ctx), /web\/disk0: 'disk0' is a symbolic link/);
    expect(existsSync(join(shared, 'web3'))).toBe(false); // the directory it made for the move is taken back
    expect(outsideNow()).toEqual(before);
  });

  it('attach refuses a link, and a directory or a fifo at the disk name is no disk', async () => {
    mkdirSync(join(shared, 'web'));
    symlinkSync(victim, join(shared, 'web', 'disk0'));
    await refusedOneLine(storage.attach(disk(), ctx), /'disk0' is a symbolic link/);
    execFileSync('rm', [join(shared, 'web', 'disk0')]);
    execFileSync('mkfifo', [join(shared, 'web', 'disk0')]);
    await refusedOneLine(storage.create(disk(), ctx), /'disk0' is not a regular file/);
    execFileSync('rm', [join(shared, 'web', 'disk0')]);
    mkdirSync(join(shared, 'web', 'disk0'));
    await refusedOneLine(storage.grow(disk(), 8, ctx), /'disk0' is a directory/);
  });

  it('keeps a node\'s own file-storage directory just as closed', async () => {
    const nodes = join(root, 'other-nodes');
    const local = createFileDiskStorage(nodes);
    const base = join(nodes, 'n1', 'file-storage');
    mkdirSync(base, { recursive: true });
    symlinkSync(outside, join(base, 'web'));
    const before = outsideNow();
    await refusedOneLine(local.create(target('web/disk0', 4, 'file'), ctx), /^file disk .*file-storage\/web\/disk0: 'web' is a symbolic link, not a directory/);
    await refusedOneLine(local.remove(target('web/disk0', 4, 'file'), ctx), /'web' is a symbolic link/);
    expect(outsideNow()).toEqual(before);
  });

  it('works through a storage directory that is itself a link (resolved once), and finishes a move cut short', async () => {
    const alias = join(root, 'shared-alias');
    symlinkSync(shared, alias);
    const d = target(join(alias, 'web', 'disk0'));
    await storage.create(d, ctx);
    expect(statSync(join(shared, 'web', 'disk0')).size).toBe(4 * MIB);
    // A crash between the new name's link and the old name's unlink leaves both names.
    mkdirSync(join(shared, 'web2'));
    linkSync(join(shared, 'web', 'disk0'), join(shared, 'web2', 'disk0'));
    await storage.rename(d, 'web2', join(alias, 'web2', 'disk0'), ctx);
    expect(existsSync(join(shared, 'web'))).toBe(false);
    expect(statSync(join(shared, 'web2', 'disk0')).nlink).toBe(1);
    await storage.rename(d, 'web2', join(alias, 'web2', 'disk0'), ctx);
    await storage.remove(target(join(alias, 'web2', 'disk0')), ctx);
    expect(readdirSync(shared)).toEqual([]);
  });
});
