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
import { createControlPlane, type ControlPlane } from '../src/engine/control-plane.js';
import { figure, percentile, round, type Figure } from './measure.js';

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

export interface MigrationFigures {
  /** ms per migrate outside driver and hypervisor calls, one per migration. */
  overheads: number[];
  /** ms per migrate inside them. */
  works: number[];
}

/** Migrates `app` back and forth between the two nodes, splitting each one's wall time. */
export const timeMigrations = async (plane: ControlPlane, nodes: [string, string], count = MIGRATIONS): Promise<MigrationFigures> => {
  const overheads: number[] = [];
  const works: number[] = [];
  for (let m = 0; m < count; m++) {
    inside = 0;
    const start = process.hrtime.bigint();
    const id = await plane.submit([Opcode.parse({ type: 'OP_INSTANCE_MIGRATE', instanceName: 'app', targetNode: nodes[(m + 1) % 2]!, live: true })]);
    const job = await plane.awaitJob(id);
    const wall = Number(process.hrtime.bigint() - start) / 1e6;
    if (job.status !== 'success') throw new Error(`saga bench: migration ${m} ended ${job.status}: ${JSON.stringify(job.opcodes.find((o) => o.error)?.error)}`);
    works.push(inside);
    overheads.push(wall - inside);
  }
  return { overheads, works };
};

/** The opcodes that give a cluster an `ext` pool (the example filepool driver) and `app` on it, on node `primary`. */
export const sagaSetup = (volumes: string, nodesToAdd: string[], primary: string) => [
  Opcode.parse({ type: 'OP_CLUSTER_SET_PARAMS', addPool: { poolName: 'nas', driver: 'filepool', params: { dir: volumes } } }),
  Opcode.parse({ type: 'OP_GROUP_SET_PARAMS', groupName: 'g1', connectPool: 'nas' }),
  ...nodesToAdd.map((nodeName) => Opcode.parse({ type: 'OP_NODE_ADD', nodeName, groupName: 'g1', memoryMib: 8192, cpus: 8 })),
  Opcode.parse({ type: 'OP_INSTANCE_CREATE', instanceName: 'app', diskTemplate: 'ext', memoryMib: 256, vcpus: 1, primaryNode: primary, disks: [{ sizeMib: 8, pool: 'nas' }] }),
];

export const timedParts = (hypervisor: Hypervisor) => ({ hypervisor: timedHypervisor(hypervisor), storage: { ext: timedStorage(createExtDiskStorage([DRIVERS])) } });

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
export const overheadFigures = (f: MigrationFigures) => {
  const sorted = [...f.overheads].sort((a, b) => a - b);
  return { overheadMs: mean(f.overheads), workMs: mean(f.works), overheadP50Ms: round(percentile(sorted, 50)), overheadP99Ms: round(percentile(sorted, 99)) };
};

/** The migrations on local nodes (the fake hypervisor here, the driver here), in this process. */
export const localMigrations = async (): Promise<MigrationFigures> => {
  const dir = mkdtempSync(join(tmpdir(), 'opl-bench-saga-'));
  const store = createSqliteEventStore(join(dir, 'saga.sqlite'));
  const plane = createControlPlane({ store, ...timedParts(createFakeHypervisor(join(dir, 'nodes'))), actor: 'bench' });
  try {
    const setup = await plane.submit([Opcode.parse({ type: 'OP_CLUSTER_INIT', clusterName: 'saga' }), Opcode.parse({ type: 'OP_GROUP_ADD', groupName: 'g1' }), ...sagaSetup(join(dir, 'volumes'), ['n1', 'n2'], 'n1')]);
    const ready = await plane.awaitJob(setup);
    if (ready.status !== 'success') throw new Error(`saga bench: setup failed: ${JSON.stringify(ready.opcodes.find((o) => o.error)?.error)}`);
    return await timeMigrations(plane, ['n1', 'n2']);
  } finally {
    await plane.close();
    rmSync(dir, { recursive: true, force: true });
  }
};

export const benchSaga = async (): Promise<Figure> => {
  const local = overheadFigures(await localMigrations());
  return figure({
    bench: 'saga',
    store: 'sqlite',
    value: local.overheadMs,
    unit: 'ms per migrate, outside driver and hypervisor calls',
    reference: local.workMs,
    referenceWhat: 'ms per migrate inside driver (attach, detach: child processes) and fake-hypervisor calls, same migrations',
    migrations: MIGRATIONS,
    overheadP50Ms: local.overheadP50Ms,
    overheadP99Ms: local.overheadP99Ms,
  });
};
