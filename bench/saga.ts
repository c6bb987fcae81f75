import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createFakeHypervisor } from '../src/adapters/hypervisors/fake.js';
import { createExtDiskStorage } from '../src/adapters/storage/ext-disks.js';
import { createSqliteEventStore } from '../src/adapters/stores/sqlite.js';
import type { DiskStorage } from '../src/domain/ports/disk-storage.js';
import type { Hypervisor } from '../src/domain/ports/hypervisor.js';
import { Opcode } from '../src/domain/opcodes.js';
import { createControlPlane } from '../src/engine/control-plane.js';
import { figure, percentile, type Figure } from './measure.js';

/**
 * Saga overhead: live migrations of an `ext` instance (one disk, the example filepool
 * driver, the fake hypervisor) back and forth on the embedded SQLite store. Each
 * migration's wall time, from submit to finished job, is split into the time spent
 * inside driver and hypervisor calls (the reference: the work itself) and the rest
 * (ours: deciding, recording each step, locks, the job's own events).
 */
const MIGRATIONS = Number(process.env.BENCH_SAGA_MIGRATIONS ?? 40);
const DRIVERS = fileURLToPath(new URL('../examples/drivers', import.meta.url));

let inside = 0;
const timed = async <T>(work: () => Promise<T>): Promise<T> => {
  const start = process.hrtime.bigint();
  try {
    return await work();
  } finally {
    inside += Number(process.hrtime.bigint() - start) / 1e6;
  }
};
const timedHypervisor = (hv: Hypervisor): Hypervisor => ({
  start: (n, i) => timed(() => hv.start(n, i)),
  stop: (n, i) => timed(() => hv.stop(n, i)),
  cleanup: (n, i) => timed(() => hv.cleanup(n, i)),
  running: (n) => timed(() => hv.running(n)),
});
const timedStorage = (s: DiskStorage): DiskStorage => ({
  create: (t, c) => timed(() => s.create(t, c)),
  grow: (t, size, c) => timed(() => s.grow(t, size, c)),
  remove: (t, c) => timed(() => s.remove(t, c)),
  rename: (t, n, p, c) => timed(() => s.rename(t, n, p, c)),
  attach: (t, c) => timed(() => s.attach(t, c)),
  detach: (t, c) => timed(() => s.detach(t, c)),
});

export const benchSaga = async (): Promise<Figure> => {
  const dir = mkdtempSync(join(tmpdir(), 'opl-bench-saga-'));
  const store = createSqliteEventStore(join(dir, 'saga.sqlite'));
  const plane = createControlPlane({
    store,
    hypervisor: timedHypervisor(createFakeHypervisor(join(dir, 'nodes'))),
    storage: { ext: timedStorage(createExtDiskStorage([DRIVERS])) },
    actor: 'bench',
  });
  try {
    const setup = await plane.submit([
      Opcode.parse({ type: 'OP_CLUSTER_INIT', clusterName: 'saga' }),
      Opcode.parse({ type: 'OP_CLUSTER_SET_PARAMS', addPool: { poolName: 'nas', driver: 'filepool', params: { dir: join(dir, 'volumes') } } }),
      Opcode.parse({ type: 'OP_GROUP_ADD', groupName: 'g' }),
      Opcode.parse({ type: 'OP_GROUP_SET_PARAMS', groupName: 'g', connectPool: 'nas' }),
      Opcode.parse({ type: 'OP_NODE_ADD', nodeName: 'n1', groupName: 'g', memoryMib: 8192, cpus: 8 }),
      Opcode.parse({ type: 'OP_NODE_ADD', nodeName: 'n2', groupName: 'g', memoryMib: 8192, cpus: 8 }),
      Opcode.parse({ type: 'OP_INSTANCE_CREATE', instanceName: 'app', diskTemplate: 'ext', memoryMib: 1024, vcpus: 1, primaryNode: 'n1', disks: [{ sizeMib: 8, pool: 'nas' }] }),
    ]);
    const ready = await plane.awaitJob(setup);
    if (ready.status !== 'success') throw new Error(`saga bench: setup failed: ${JSON.stringify(ready.opcodes.find((o) => o.error)?.error)}`);
    const overheads: number[] = [];
    const works: number[] = [];
    for (let m = 0; m < MIGRATIONS; m++) {
      inside = 0;
      const start = process.hrtime.bigint();
      const id = await plane.submit([Opcode.parse({ type: 'OP_INSTANCE_MIGRATE', instanceName: 'app', targetNode: m % 2 === 0 ? 'n2' : 'n1', live: true })]);
      const job = await plane.awaitJob(id);
      const wall = Number(process.hrtime.bigint() - start) / 1e6;
      if (job.status !== 'success') throw new Error(`saga bench: migration ${m} ended ${job.status}`);
      works.push(inside);
      overheads.push(wall - inside);
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const sorted = [...overheads].sort((a, b) => a - b);
    return figure({
      bench: 'saga',
      store: 'sqlite',
      value: mean(overheads),
      unit: 'ms per migrate, outside driver and hypervisor calls',
      reference: mean(works),
      referenceWhat: 'ms per migrate inside driver (attach, detach: child processes) and fake-hypervisor calls, same migrations',
      migrations: MIGRATIONS,
      overheadP50Ms: Math.round(percentile(sorted, 50) * 100) / 100,
      overheadP99Ms: Math.round(percentile(sorted, 99) * 100) / 100,
    });
  } finally {
    await plane.close();
    rmSync(dir, { recursive: true, force: true });
  }
};
