import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { proposedVolumeName } from '../../../src/domain/driver-protocol.js';
import type { DiskStorage, DiskTarget, DriverCall, StorageContext } from '../../../src/domain/ports/disk-storage.js';
import { recordedPids, survivors } from '../process/leftovers.js';

/**
 * What every adapter of `ext` disks owes against drivers that lie, leak, fork or print
 * what they should not: run on this host, and through a node's daemon. `make` gives the
 * adapter; `journalDir` is where this host's would journal (a daemon keeps its own).
 */
export const hostileDriverContract = (adapter: string, make: (journalDir: string) => DiskStorage): void => {
const work = mkdtempSync(join(tmpdir(), 'opl-hostile-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
/** Call ids unique to this run of the contract: a daemon's journal outlives one contract. */
const run = Math.random().toString(36).slice(2, 8);

let count = 0;
const setup = (driver: string, options: { taken?: string[]; sizeMib?: number } = {}) => {
  const pool = mkdtempSync(join(work, `${driver}-`));
  const target: DiskTarget = {
    nodeName: 'n1',
    template: 'ext',
    instance: { name: 'vm', uuid: `u-${run}-${++count}`, tags: [] },
    disk: { index: 0, sizeMib: options.sizeMib ?? 10, logicalId: '', pool: 'p', params: {}, adopted: false },
    pool: { name: 'p', driver, params: { dir: pool }, timeoutSeconds: 20 },
    peers: ['n1'],
  };
  const recorded: DriverCall[] = [];
  const logged: string[] = [];
  const ctx: StorageContext = {
    callId: `call-${run}-${count}`,
    recordCall: async (call) => void recorded.push(call),
    log: async (_level, message) => void logged.push(message),
    claimLogicalId: async (poolName, id) => (options.taken?.includes(id) ? `the logical id '${id}' is already disk 0 of instance other in pool '${poolName}'` : undefined),
  };
  const calls = () => (existsSync(join(pool, 'calls')) ? readFileSync(join(pool, 'calls'), 'utf8').trim().split('\n') : []);
  const storage = make(join(pool, '..', `journal-${count}`));
  return { pool, target, ctx, recorded, logged, calls, storage };
};

describe(`ext disks ${adapter}: logical ids a driver prints`, () => {
  it.each([
    ['../../etc/passwd', /not letters, digits and '._:\+-'/],
    ['-rf', /not starting with '.' or '-'/],
    ['.hidden', /not starting with '.' or '-'/],
    ['a/b', /no '\/'/],
    ['two words', /not letters, digits/],
    ['x'.repeat(129), /129 characters long, more than 128/],
  ])('refuses %j, records no id, and removes what the create made by VOL_NAME, never by that id', async (id, why) => {
    const s = setup('printed-id');
    writeFileSync(join(s.pool, 'next-id'), `${id}\n`);
    await expect(s.storage.create(s.target, s.ctx)).rejects.toThrow(why);
    expect(s.recorded[0]).toMatchObject({ action: 'create', outcome: 'failed', exitCode: 0 });
    expect(s.recorded[0]!.logicalId).toBeUndefined();
    expect(s.recorded.map((c) => `${c.action}:${c.outcome}`)).toEqual(['create:failed', 'remove:ok']);
    expect(s.calls()).toEqual([`remove id= vol=${proposedVolumeName(s.target)}`]);
    expect(readdirSync(s.pool).sort()).toEqual(['calls', 'next-id']);
  });

  it('accepts an id of the allowed alphabet up to 128 characters', async () => {
    const s = setup('printed-id');
    const id = `Vol_1.2:3+4-${'x'.repeat(116)}`;
    writeFileSync(join(s.pool, 'next-id'), `${id}\n`);
    expect(await s.storage.create(s.target, s.ctx)).toEqual({ logicalId: id });
    expect(s.recorded.map((c) => `${c.action}:${c.outcome}:${c.logicalId}`)).toEqual([`create:ok:${id}`, `attach:ok:${id}`, `detach:ok:${id}`]);
  });

  it("refuses an id another disk of the pool holds, and its clean-up leaves that disk's volume alone", async () => {
    const s = setup('printed-id', { taken: ['shared'] });
    writeFileSync(join(s.pool, 'next-id'), 'shared\n');
    writeFileSync(join(s.pool, 'made.other-volume'), 'shared\n'); // the other disk's volume
    await expect(s.storage.create(s.target, s.ctx)).rejects.toThrow(/create printed an id that is not this disk's: the logical id 'shared' is already disk 0 of instance other/);
    expect(s.calls()).toEqual([`remove id= vol=${proposedVolumeName(s.target)}`]);
    expect(readFileSync(join(s.pool, 'made.other-volume'), 'utf8')).toBe('shared\n');
    expect(existsSync(join(s.pool, `made.${proposedVolumeName(s.target)}`))).toBe(false);
  });
});

describe(`ext disks ${adapter}: creates that fail after making something, or made nothing`, () => {
  it('removes the empty volume a refused size left (the 999999T case), so the name is free again', async () => {
    const s = setup('leaky', { sizeMib: 999999 * 1024 * 1024 });
    await expect(s.storage.create(s.target, s.ctx)).rejects.toThrow(/more than this array can hold.*; the driver was asked to remove what it made/);
    expect(s.recorded.map((c) => `${c.action}:${c.outcome}`)).toEqual(['create:failed', 'remove:ok']);
    expect(readdirSync(s.pool)).toEqual(['calls']);
    const again = { ...s.target, disk: { ...s.target.disk, sizeMib: 1 } };
    expect(await s.storage.create(again, { ...s.ctx, callId: `${s.ctx.callId}-again` })).toEqual({ logicalId: 'vm.disk0' });
  });

  it('does not believe a create whose volume attach cannot find, and removes it by the id it gave', async () => {
    const s = setup('liar');
    await expect(s.storage.create(s.target, s.ctx)).rejects.toThrow(/attach of disk 0 of vm on node n1 failed \(exit 1\): liar: no volume vm.disk0/);
    expect(s.recorded.map((c) => `${c.action}:${c.outcome}:${c.logicalId}`)).toEqual(['create:ok:vm.disk0', 'attach:failed:vm.disk0', 'remove:ok:vm.disk0']);
    expect(s.calls()).toEqual(['remove id=vm.disk0 vol=vm.disk0']);
  });

  it("does not believe a Ganeti provider's create that its verify cannot find", async () => {
    const s = setup('ganeti-liar');
    await expect(s.storage.create(s.target, s.ctx)).rejects.toThrow(/verify of disk 0 of vm on node n1 failed \(exit 1\): ganeti-liar: no volume/);
    expect(s.recorded.map((c) => `${c.action}:${c.outcome}`)).toEqual(['create:ok', 'verify:failed', 'remove:ok']);
  });
});

describe(`ext disks ${adapter}: a driver that forks`, () => {
  it.each([
    ['journaled', true],
    ['not journaled', false],
  ])('%s: its answer is used at once and every process it left is ended', async (_name, journaled) => {
    const s = setup('forking');
    const { callId: _id, ...withoutId } = s.ctx;
    expect(await s.storage.create(s.target, journaled ? s.ctx : withoutId)).toEqual({ logicalId: 'vm.disk0' });
    expect(s.recorded[0]).toMatchObject({ action: 'create', outcome: 'ok' });
    expect(await survivors(await recordedPids(join(s.pool, 'pids'), 3))).toEqual([]);
  });
});

};
