import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createFakeHypervisor } from '../src/adapters/hypervisors/fake.js';
import { nodeRoutedHypervisor } from '../src/adapters/hypervisors/node-routed.js';
import { remoteNodeReach } from '../src/adapters/nodes/remote-reach.js';
import { createSqliteEventStore } from '../src/adapters/stores/sqlite.js';
import { findNode } from '../src/domain/cluster-state.js';
import { createControlPlane, type ControlPlane } from '../src/engine/control-plane.js';
import { figure, round, type Figure } from './measure.js';
import { localMigrations, overheadFigures, sagaSetup, timedParts, timeMigrations } from './saga.js';

/**
 * Saga overhead of `instance migrate` across namespaces: the same migrations as the
 * `saga` bench, but the two nodes are namespaced hosts (scripts/netns-cluster.sh) whose
 * opl-noded runs the fake hypervisor, and the engine runs in a namespace of its own.
 * The hypervisor calls now cross the network (mutual TLS); the overhead is what lies
 * outside them, as before. The reference is the local figure, measured in this run.
 */
const SCRIPT = fileURLToPath(new URL('../scripts/netns-cluster.sh', import.meta.url));
const SELF = fileURLToPath(import.meta.url);

/** Runs in the engine's namespace: the migrations through the daemons of h1 and h2. */
export const netnsMigrationsInside = async (dataDir: string): Promise<void> => {
  const nodes = remoteNodeReach(dataDir, { timeoutMs: 10_000 });
  let plane: ControlPlane | undefined;
  const routed = nodeRoutedHypervisor(createFakeHypervisor(join(dataDir, 'nodes')), (name) => {
    const node = plane && findNode(plane.projector.views.cluster, name);
    return node?.address ? nodes.client(name, node.address) : undefined;
  });
  plane = createControlPlane({ store: createSqliteEventStore(join(dataDir, 'opledger.sqlite')), ...timedParts(routed), nodes, actor: 'bench' });
  try {
    const setup = await plane.awaitJob(await plane.submit(sagaSetup(join(dataDir, 'volumes'), [], 'h1')));
    if (setup.status !== 'success') throw new Error(`netns saga bench: setup failed: ${JSON.stringify(setup.opcodes.find((o) => o.error)?.error)}`);
    process.stdout.write(`${JSON.stringify(await timeMigrations(plane, ['h1', 'h2']))}\n`);
  } finally {
    await plane.close();
    nodes.close();
  }
};

export const benchNetnsSaga = async (): Promise<Figure> => {
  const local = overheadFigures(await localMigrations());
  const prefix = `s${process.pid % 100000}`;
  const work = mkdtempSync(join(tmpdir(), 'opl-bench-netns-saga-'));
  try {
    execFileSync('bash', [SCRIPT, 'up', prefix, '2', work], { timeout: 300_000, stdio: ['ignore', 'ignore', 'pipe'] });
    const inner = spawnSync('ip', ['netns', 'exec', `${prefix}-h0`, process.execPath, SELF], {
      env: { ...process.env, BENCH_NETNS_SAGA_DATA_DIR: join(work, 'engine') },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 300_000,
    });
    if (inner.status !== 0) throw new Error(`netns saga bench: the engine's side failed (${inner.status}): ${inner.stderr}`);
    const remote = overheadFigures(JSON.parse(inner.stdout.toString().trim().split('\n').pop()!));
    return figure({
      bench: 'saga-netns',
      store: 'sqlite',
      value: remote.overheadMs,
      unit: 'ms per migrate outside driver and hypervisor calls, nodes in namespaces (hypervisor through opl-noded)',
      reference: local.overheadMs,
      referenceWhat: 'the same, local nodes, same run',
      overheadP50Ms: remote.overheadP50Ms,
      overheadP99Ms: remote.overheadP99Ms,
      insideCallsMs: round(remote.workMs),
      localInsideCallsMs: round(local.workMs),
    });
  } finally {
    execFileSync('bash', [SCRIPT, 'down', prefix, work], { timeout: 120_000 });
    rmSync(work, { recursive: true, force: true });
  }
};
