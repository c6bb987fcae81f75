import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { tempDir } from './invariants.js';
import { newSite, ok, type Result, type Site } from './opl.js';

/**
 * Planted device aliases and planted links, through the real `opl` on a real store:
 * one block device never goes to two instances whatever it is called, and file disks
 * never reach outside their directory. After every refusal the views and the domain
 * events are as they were, and what lies outside is untouched (content, size, mtime).
 */

const MIB = 1024 * 1024;

/** Real loop devices (the suite runs as root, as CI does), each detached afterwards. */
const attached: string[] = [];
const loopDevice = (file: string, bytes: number): string => {
  execFileSync('truncate', ['-s', String(bytes), file]);
  const device = execFileSync('losetup', ['-f', '--show', file], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  attached.push(device);
  return device;
};

interface Event { stream: string; type: string; data: unknown }
/** What the configuration says, and every event that changed it (a saga's own begin and end left out). */
const snapshot = async (site: Site) => {
  const [instances, nodes, log] = await Promise.all([site.json('instance', 'list'), site.json('node', 'list'), site.json<Event[]>('audit', 'log')]);
  return { instances, nodes, events: log.filter((e) => e.stream === 'cluster' && !e.type.startsWith('Saga')).map((e) => ({ type: e.type, data: e.data })) };
};
const fingerprint = (path: string) => {
  const s = statSync(path);
  return { content: readFileSync(path, 'utf8'), size: s.size, mtimeMs: s.mtimeMs };
};
/** Every file under a directory, with what it holds. */
const filesUnder = (dir: string) =>
  Object.fromEntries((readdirSync(dir, { recursive: true }) as string[]).filter((n) => statSync(join(dir, n)).isFile()).map((n) => [n, fingerprint(join(dir, n))]));

/** Refused: exit 1, and the reason is one line of the client's error output. */
const refused = (r: Result, reason: RegExp): void => {
  expect(r.code, r.stderr).toBe(1);
  expect(r.stderr.split('\n').filter((line) => reason.test(line)), r.stderr).toHaveLength(1);
};

export const describeHostileStorage = (storeName: string, storeUrl: () => string | undefined): void => {
  const detachAll = () => {
    for (const device of attached.splice(0)) execFileSync('losetup', ['-d', device], { stdio: 'ignore' });
  };
  afterAll(detachAll);

  describe(`opl on ${storeName}: one block device, however it is named, belongs to one instance`, () => {
    it('adopts the first of three spellings, refuses aliases, empty devices and paths beside a prefix', async () => {
      const site = newSite(storeUrl());
      const root = tempDir('san');
      onTestFinished(() => {
        detachAll();
        for (const dir of [root, site.dataDir]) rmSync(dir, { recursive: true, force: true });
      });
      const [prefix, prefix2] = [join(root, 'prefix'), join(root, 'prefix2')];
      mkdirSync(prefix);
      mkdirSync(prefix2);
      const lun = loopDevice(join(root, 'lun.img'), 16 * MIB);
      const other = loopDevice(join(root, 'other.img'), 8 * MIB);
      const empty = loopDevice(join(root, 'empty.img'), 0);
      symlinkSync(lun, join(prefix, 'lunA'));
      symlinkSync(lun, join(prefix2, 'lunB')); // the same LUN under a second name
      symlinkSync(lun, join(prefix, 'wwn-0x5000c500a1b2c3d4')); // and a by-id style one
      symlinkSync(other, join(prefix, 'lunC'));
      symlinkSync(other, join(prefix, 'scsi-3600508b4000c3d4'));
      symlinkSync(empty, join(prefix, 'empty'));

      await ok(site.opl('cluster', 'init', 'san', '--blockdev-prefixes', prefix));
      await ok(site.opl('group', 'add', 'g'));
      await ok(site.opl('node', 'add', 'n1', '--group', 'g', '--memory', '4G', '--cpus', '4'));
      await ok(site.opl('node', 'add', 'n2', '--group', 'g', '--memory', '4G', '--cpus', '4'));
      const add = (name: string, path: string) => site.opl('instance', 'add', name, '-t', 'blockdev', '--memory', '128', '--vcpus', '1', '-n', 'n1', '--no-start', '--disk', `0:adopt=${path}`);

      refused(await add('x', join(prefix2, 'lunB')), new RegExp(`is not under an allowed block device prefix \\(${prefix}\\): prefixes are directories, and '${prefix2}' is not inside '${prefix}'`));
      await ok(site.opl('cluster', 'modify', '--blockdev-prefixes', `${prefix},${prefix2}`));

      await ok(add('a', join(prefix, 'lunA')));
      const before = await snapshot(site);
      const number = execFileSync('stat', ['-c', '%Hr:%Lr', lun]).toString().trim();
      refused(await add('b', `${prefix}//lunA`), new RegExp(`'${prefix}/lunA' \\(device ${number}, ${lun}\\) is already adopted by instance 'a' \\(in_use\\)`));
      refused(await add('c', join(prefix2, 'lunB')), new RegExp(`'${prefix2}/lunB' \\(device ${number}, ${lun}\\) is already adopted by instance 'a' as '${prefix}/lunA'`));
      refused(await add('d', join(prefix, 'wwn-0x5000c500a1b2c3d4')), /is already adopted by instance 'a' as/);
      refused(await add('e', join(prefix, 'empty')), /\/prefix\/empty' \(device \d+:\d+, \/dev\/loop\d+\) is empty \(0 bytes\)/);
      // A second loop device over the same file: another number, the same blocks.
      const again = execFileSync('losetup', ['-f', '--show', join(root, 'lun.img')], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
      attached.push(again);
      symlinkSync(again, join(prefix, 'lunA-again'));
      refused(await add('f', join(prefix, 'lunA-again')), new RegExp(`'${prefix}/lunA-again' \\(device \\d+:\\d+, ${again}\\) reads the same file as '${prefix}/lunA', adopted by instance 'a' \\(in_use\\)`));
      expect(await snapshot(site)).toEqual(before);
      const info = await site.json<{ disks: { logicalId: string; size: number }[] }>('instance', 'info', 'a');
      expect(info.disks).toMatchObject([{ logicalId: join(prefix, 'lunA'), size: 16, deviceNumber: number }]);
      expect((await ok(site.opl('instance', 'info', 'a'))).stdout).toContain(`disk/0: 16 MiB, adopted ${prefix}/lunA (device ${number})`);

      // Two clients at once adopting two names of one device: only one may win.
      const race = await Promise.all([add('r1', join(prefix, 'scsi-3600508b4000c3d4')), add('r2', join(prefix, 'lunC'))]);
      const winners = race.filter((r) => r.code === 0);
      expect(winners.length, race.map((r) => r.stderr).join('\n')).toBe(1);
      const loser = race.find((r) => r.code !== 0)!;
      expect(loser.stderr).toMatch(/(is already adopted by instance 'r[12]'|is being adopted by job \d+)/);
      const winner = race[0]!.code === 0 ? 'r1' : 'r2';
      expect((await site.json<{ name: string }[]>('instance', 'list')).map((i) => i.name).sort()).toEqual(['a', winner]);

      // Let go of it, and the device may be adopted again — under its normal name.
      await ok(site.opl('instance', 'remove', 'a', '-f'));
      await ok(add('b', `${prefix}//lunA/`));
      expect((await site.json<{ disks: { logicalId: string }[] }>('instance', 'info', 'b')).disks[0]!.logicalId).toBe(join(prefix, 'lunA'));
      expect(statSync(lun).isBlockDevice()).toBe(true);
      expect(await site.json('cluster', 'verify')).toMatchObject({ ok: true, problems: [] });

      // The storage side re-points the name at another LUN: verify says so.
      rmSync(join(prefix, 'lunA'));
      symlinkSync(other, join(prefix, 'lunA'));
      const otherNumber = execFileSync('stat', ['-c', '%Hr:%Lr', other]).toString().trim();
      const verify = await site.opl('cluster', 'verify');
      expect(verify.code).toBe(1);
      expect(verify.stdout.split('\n').filter((l) => l.startsWith('ERROR'))).toEqual([`ERROR: node n1: instance b disk 0: ${prefix}/lunA is now device ${otherNumber} (${other}), not ${number} as when it was adopted`]);
    }, 120_000);
  });

  describe(`opl on ${storeName}: file disks stay inside their directory`, () => {
    it('refuses planted links on create, grow, rename and remove; nothing outside changes, nor the views', async () => {
      const site = newSite(storeUrl());
      const shared = tempDir('shared');
      const outside = tempDir('outside');
      onTestFinished(() => [site.dataDir, shared, outside].forEach((d) => rmSync(d, { recursive: true, force: true })));
      const victim = join(outside, 'victim.img');
      writeFileSync(victim, 'a file that is not ours');
      utimesSync(victim, new Date('2020-01-01T00:00:00Z'), new Date('2020-01-01T00:00:00Z'));
      mkdirSync(join(outside, 'dir'));
      writeFileSync(join(outside, 'dir', 'disk0'), 'theirs');
      const outsideBefore = filesUnder(outside);
      await ok(site.opl('cluster', 'init', 'sf', '--shared-file-storage-dir', shared));
      await ok(site.opl('group', 'add', 'g'));
      await ok(site.opl('node', 'add', 'n1', '--group', 'g', '--memory', '4G', '--cpus', '4'));
      const web = join(shared, 'web');
      const disk = join(web, 'disk0');
      const add = () => site.opl('instance', 'add', 'web', '-t', 'sharedfile', '--memory', '128', '--vcpus', '1', '-n', 'n1', '--no-start', '--disk', '0:size=8M', '--disk', '1:size=4M');

      // create: a link at the disk's name, then a link for its directory.
      let before = await snapshot(site);
      mkdirSync(web);
      symlinkSync(victim, disk);
      refused(await add(), /sharedfile disk .*\/web\/disk0: 'disk0' is a symbolic link; .*\(nothing was changed\)/);
      // At the second disk: the first, made already, is removed again when the opcode is undone.
      rmSync(disk);
      symlinkSync(victim, join(web, 'disk1'));
      refused(await add(), /\/web\/disk1: 'disk1' is a symbolic link/);
      expect(readdirSync(web)).toEqual(['disk1']);
      rmSync(join(web, 'disk1'));
      symlinkSync(victim, disk);
      rmSync(web, { recursive: true });
      symlinkSync(join(outside, 'dir'), web);
      refused(await add(), /'web' is a symbolic link, not a directory/);
      expect(await snapshot(site)).toEqual(before);
      expect(filesUnder(outside)).toEqual(outsideBefore);
      rmSync(web);

      await ok(add());
      expect(statSync(disk).size).toBe(8 * MIB);
      before = await snapshot(site);
      const ours = join(shared, 'ours.img');

      // grow: the disk swapped for a link, then its directory.
      renameSync(disk, ours);
      symlinkSync(victim, disk);
      refused(await site.opl('instance', 'grow-disk', 'web', '0', '64M'), /'disk0' is a symbolic link/);
      rmSync(disk);
      renameSync(ours, disk);
      renameSync(web, join(shared, 'web.real'));
      symlinkSync(join(outside, 'dir'), web);
      refused(await site.opl('instance', 'grow-disk', 'web', '0', '64M'), /'web' is a symbolic link, not a directory/);
      rmSync(web);
      renameSync(join(shared, 'web.real'), web);
      expect(await snapshot(site)).toEqual(before);
      expect(filesUnder(outside)).toEqual(outsideBefore);

      // rename: the new name planted as a link, as a file, and its directory as a link.
      await ok(site.opl('instance', 'stop', 'web'));
      before = await snapshot(site);
      const web2 = join(shared, 'web2');
      mkdirSync(web2);
      symlinkSync(victim, join(web2, 'disk0'));
      refused(await site.opl('instance', 'rename', 'web', 'web2'), /web2\/disk0: 'disk0' is a symbolic link; the new name must be free/);
      rmSync(join(web2, 'disk0'));
      writeFileSync(join(web2, 'disk0'), 'someone else');
      refused(await site.opl('instance', 'rename', 'web', 'web2'), /'disk0' already exists; the new name must be free/);
      expect(readFileSync(join(web2, 'disk0'), 'utf8')).toBe('someone else');
      rmSync(web2, { recursive: true });
      symlinkSync(join(outside, 'dir'), web2);
      refused(await site.opl('instance', 'rename', 'web', 'web2'), /'web2' is a symbolic link, not a directory/);
      rmSync(web2);
      expect(statSync(disk).size).toBe(8 * MIB);
      expect(await snapshot(site)).toEqual(before);
      expect(filesUnder(outside)).toEqual(outsideBefore);

      // remove: a link at the disk's name is refused, and what it points at stays.
      renameSync(disk, ours);
      symlinkSync(victim, disk);
      refused(await site.opl('instance', 'remove', 'web', '-f'), /'disk0' is a symbolic link/);
      expect(await snapshot(site)).toEqual(before);
      expect(filesUnder(outside)).toEqual(outsideBefore);
      rmSync(disk);
      renameSync(ours, disk);
      await ok(site.opl('instance', 'remove', 'web', '-f'));
      expect(existsSync(web)).toBe(false);
      expect(filesUnder(outside)).toEqual(outsideBefore);
    }, 120_000);
  });
};
