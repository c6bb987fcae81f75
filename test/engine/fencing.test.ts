import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFakeHypervisor } from '../../src/adapters/hypervisors/fake.js';
import { createPostgresEventStore } from '../../src/adapters/stores/postgres.js';
import { createSqliteEventStore } from '../../src/adapters/stores/sqlite.js';
import { Opcode } from '../../src/domain/opcodes.js';
import type { EventStore, RecordedEvent } from '../../src/domain/ports/event-store.js';
import { createControlPlane } from '../../src/engine/control-plane.js';
import { LEADER_LEASE } from '../../src/engine/leadership.js';
import { freshSchemaUrl } from '../adapters/stores/pg-url.js';
import { smallCluster } from '../domain/fixtures.js';

const STORES: [string, () => Promise<EventStore>][] = [
  ['SQLite', async () => createSqliteEventStore(join(mkdtempSync(join(tmpdir(), 'opl-fence-')), 'events.sqlite'))],
  ['PostgreSQL', () => createPostgresEventStore(freshSchemaUrl(), { pollMs: 20 })],
];

const until = async (what: string, check: () => boolean | Promise<boolean>, seconds = 20) => {
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
};

const readAll = async (store: EventStore, from = 1n) => {
  const out: RecordedEvent[] = [];
  for await (const e of store.readAll(from)) out.push(e);
  return out;
};

describe.each(STORES)('engine fencing on %s', (_name, open) => {
  it('a leader whose lease was taken over has its next write refused: it stops, says so once, and its client waits as a follower', async () => {
    const store = await open();
    const errors: string[] = [];
    // A long lease: its renewal does not come before the write, so the store is what refuses it.
    const plane = createControlPlane({
      store,
      hypervisor: createFakeHypervisor(mkdtempSync(join(tmpdir(), 'opl-nodes-'))),
      actor: 'tester',
      leaseTtlMs: 60_000,
      onError: (e) => errors.push(e instanceof Error ? e.message : String(e)),
    });
    try {
      const setup = await plane.awaitJob(await plane.submit(smallCluster().map((o) => Opcode.parse(o))));
      expect(setup.status).toBe('success');
      const id = await plane.submit([Opcode.parse({ type: 'OP_TEST_DELAY', durationSeconds: 0.5, lockInstances: [], fail: false })]);
      let settled = false;
      const waiting = plane.awaitJob(id).finally(() => (settled = true));
      await until('the job to run', () => plane.projector.views.jobs.get(id)?.status === 'running');
      const held = (await store.leases.current(LEADER_LEASE))!;
      // Another engine (elsewhere, so not judged by pid) takes the lease over, as one would once it ran out.
      const usurper = { holder: 'usurper', pid: 1, host: 'elsewhere', expiresAt: Date.now() + 60_000 };
      expect(await store.leases.tryAcquire(LEADER_LEASE, usurper, () => true)).toBe(held.epoch + 1n);
      const head = (await readAll(store)).length;
      // The delay ends and the engine tries to record it: refused.
      await until('the engine to be fenced', () => errors.length > 0);
      expect(errors).toEqual([
        `engine ${held.holder}'s lease (epoch ${held.epoch}) was taken over (epoch ${held.epoch + 1n}): this engine may not write; stepping down, the new leader goes on with its jobs`,
      ]);
      expect(await readAll(store, BigInt(head + 1))).toEqual([]);
      expect(settled).toBe(false);
      expect(plane.projector.views.jobs.get(id)?.status).toBe('running');
      // The other engine lets go without running the job: this client leads again, under a new token, and ends it.
      await store.leases.release(LEADER_LEASE, 'usurper');
      const job = await waiting;
      expect(job.status).toBe('success');
      expect(job.opcodes[0]!.attempts).toBe(2);
      expect(errors).toHaveLength(1);
      const after = await readAll(store, BigInt(head + 1));
      expect(after.length).toBeGreaterThan(0);
      expect(after.every((e) => e.metadata.engineId === held.holder)).toBe(true);
      expect((await store.leases.current(LEADER_LEASE)) ?? null).toBeNull();
    } finally {
      await plane.close();
    }
  }, 30_000);
});
