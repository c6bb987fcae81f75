import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { firstValueFrom, take, toArray } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { createSqliteEventStore } from '../../src/adapters/stores/sqlite.js';
import { withClassifiedErrors } from '../../src/adapters/stores/store-errors.js';
import { StoreFailureError, type EventStore } from '../../src/domain/ports/event-store.js';
import { createStorePatience, patientStore } from '../../src/engine/store-patience.js';
import { fillUp, mountSmallDisk } from '../fixtures/small-disk.js';

const event = () => ({ id: randomUUID(), type: 'Written', data: {}, metadata: { actor: 't', recordedAt: new Date().toISOString() } });

const disks: (() => void)[] = [];
afterEach(() => {
  for (const remove of disks.splice(0)) remove();
});

/** A real SQLite store on a 2 MiB tmpfs, and a way to fill that disk and free it again. */
const storeOnSmallDisk = (): { store: EventStore; fill: () => void; free: () => void } => {
  const { dir, remove } = mountSmallDisk(2);
  disks.push(remove);
  const path = join(dir, 'events.sqlite');
  return {
    store: withClassifiedErrors(createSqliteEventStore(path), path),
    fill: () => void fillUp(dir),
    free: () => rmSync(join(dir, 'fill')),
  };
};

describe('store patience', () => {
  it('waits out a full disk, reporting once when it begins and once when it ends; the append lands once', async () => {
    const { store, fill, free } = storeOnSmallDisk();
    await store.append('s', [event()], 'any');
    const reports: string[] = [];
    const patient = patientStore(store, createStorePatience({ unavailable: 30_000, refuses_writes: 30_000 }, (m) => reports.push(m)));
    fill();
    const batch = Array.from({ length: 50 }, event);
    const pending = patient.append('s', batch, 'any');
    // Free the disk once the failure has been reported: the append is then retried, not failed.
    for (let i = 0; i < 200 && reports.length === 0; i++) await new Promise((r) => setTimeout(r, 25));
    expect(reports).toEqual([expect.stringMatching(/^the store refuses writes: .*is full \(SQLITE_FULL\); retrying for up to 30 s$/)]);
    free();
    expect((await pending).position).toBe(51n);
    expect(reports).toHaveLength(2);
    expect(reports[1]).toBe('the store works again; carrying on');
    const all = await firstValueFrom(patient.subscribeAll(1n).pipe(take(51), toArray()));
    expect(all.map((e) => e.position)).toEqual(Array.from({ length: 51 }, (_, i) => BigInt(i + 1)));
    await store.close();
  });

  it('gives up when its patience runs out, with the failure, after a bounded number of tries', async () => {
    const { store, fill } = storeOnSmallDisk();
    let tries = 0;
    const counting: EventStore = { ...store, append: (...args) => (tries++, store.append(...args)) };
    const reports: string[] = [];
    const patient = patientStore(counting, createStorePatience({ unavailable: 800, refuses_writes: 800 }, (m) => reports.push(m)));
    fill();
    const failure = await patient.append('s', Array.from({ length: 50 }, event), 'any').then(() => undefined, (e: unknown) => e);
    expect(failure).toBeInstanceOf(StoreFailureError);
    expect((failure as StoreFailureError).kind).toBe('refuses_writes');
    // Doubling pauses from 100 ms: a handful of tries in 0.8 s, never a hot loop.
    expect(tries).toBeGreaterThan(1);
    expect(tries).toBeLessThan(10);
    expect(reports).toHaveLength(1);
    await store.close();
  });
});
