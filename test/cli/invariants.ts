import { execFile, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeUsage } from '../../src/domain/cluster-state.js';
import type { RecordedEvent } from '../../src/domain/ports/event-store.js';
import { emptyViews, evolveViews } from '../../src/projections/views.js';
import { newSite, OPL, recorded, type Site } from './opl.js';

/**
 * What the acceptance tests of the engine's invariants share: running many `opl`
 * clients at once, reading the views and a fresh replay, and checking what the views
 * say against what is really there (volume files, loop devices, the fake hypervisor's
 * state files). Every check returns the problems it found, in words, so one failure
 * report lists everything that is wrong at once (and fast-check can print it).
 */

const MIB = 1024 * 1024;
export const EXAMPLE_DRIVERS = fileURLToPath(new URL('../../examples/drivers', import.meta.url));
export const FIXTURE_DRIVERS = fileURLToPath(new URL('../fixtures/drivers', import.meta.url));
/** Fixtures first, so the slow-* wrappers and the reference drivers are both found. */
export const DRIVER_PATH = `${FIXTURE_DRIVERS}:${EXAMPLE_DRIVERS}`;

export const tempDir = (what: string): string => mkdtempSync(join(tmpdir(), `opl-${what}-`));

export interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `opl ARGS` as its own process; unlike Site.opl it tells a kill by signal from an exit. */
export const runOpl = (site: Site, args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<Outcome> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [OPL, ...args], { env: { ...site.env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    // 'exit', not 'close': a driver a killed engine left behind may still hold its pipes.
    child.on('exit', (code, signal) => setImmediate(() => resolve({ code, signal, stdout, stderr })));
  });

/** Each client runs its commands in order; the clients run at the same time, as separate processes. */
export const runClients = (site: Site, clients: string[][][]): Promise<Outcome[][]> =>
  Promise.all(
    clients.map(async (commands) => {
      const outcomes: Outcome[] = [];
      for (const command of commands) outcomes.push(await runOpl(site, command));
      return outcomes;
    }),
  );

/** `instance remove` without a terminal needs -f (--force): the clients here are scripts. */
export const removeArgs = async (_site: Site, name: string): Promise<string[]> => ['instance', 'remove', name, '-f'];

/** Waits on an observable condition, bounded; never a fixed sleep. */
export const until = async (what: string, check: () => Promise<boolean> | boolean, seconds = 30): Promise<void> => {
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${seconds}s waiting for ${what}`);
};

/** A new site whose data dir starts as a copy of a template's (a SQLite cluster built once). */
export const siteFrom = (templateDataDir: string): Site => {
  const site = newSite();
  cpSync(templateDataDir, site.dataDir, { recursive: true });
  site.env.OPL_STORAGE_DRIVER_PATH = DRIVER_PATH;
  return site;
};

export interface DiskView { index: number; size: number; logicalId: string; pool: string | null; adopted: boolean; device: string | null }
export interface InstanceView { name: string; uuid: string; diskTemplate: string; primaryNode: string; adminState: 'up' | 'down'; memory: number; vcpus: number; disks: DiskView[]; disksActive: boolean }
export interface NodeView { name: string; memoryTotal: number; memoryFree: number; cpus: number; vcpusUsed: number; diskTotal: number; diskFree?: number; primaryInstances: string[] }
export interface JobView { id: number; status: string; opcodes: { type: string; status: string; attempts: number; error: { kind: string; code: string; message: string } | null }[] }
export interface Views {
  cluster: Record<string, unknown> & { vcpuRatio: number };
  groups: unknown[];
  pools: unknown[];
  nodes: NodeView[];
  instances: InstanceView[];
  jobs: JobView[];
}

export const readViews = async (site: Site): Promise<Views> => {
  const [clusterWithDir, groups, pools, nodes, instances, jobs] = await Promise.all([
    site.json<Views['cluster'] & { dataDir?: string }>('cluster', 'info'),
    site.json<unknown[]>('group', 'list'),
    site.json<unknown[]>('storage', 'pool', 'list'),
    site.json<NodeView[]>('node', 'list'),
    site.json<InstanceView[]>('instance', 'list'),
    site.json<JobView[]>('job', 'list'),
  ]);
  // The data dir is where this process looked, not something the log says.
  const { dataDir: _dataDir, ...cluster } = clusterWithDir;
  return { cluster, groups, pools, nodes: recorded(nodes) as NodeView[], instances: recorded(instances) as InstanceView[], jobs };
};

export const readReplay = (site: Site): Promise<Views & { position: number }> => site.json('audit', 'replay');

/**
 * What must hold at every moment of the log, not only at the end: an instance created
 * and then moved or removed again leaves no trace of an overcommit in the final views.
 * (While a saga runs its reservation may be counted, so only the limits are checked.)
 */
export const limitProblems = (views: Views): string[] =>
  views.nodes.flatMap((node) => {
    const primaries = views.instances.filter((i) => i.primaryNode === node.name);
    const memoryUsed = primaries.reduce((sum, i) => sum + i.memory, 0);
    const vcpusUsed = primaries.reduce((sum, i) => sum + i.vcpus, 0);
    const vcpuLimit = Math.floor(node.cpus * views.cluster.vcpuRatio);
    const diskUsed = primaries.flatMap((i) => (i.diskTemplate === 'file' ? i.disks : [])).reduce((sum, d) => sum + d.size, 0);
    return [
      node.memoryFree < 0 && `node ${node.name}: memoryFree is ${node.memoryFree} MiB`,
      memoryUsed > node.memoryTotal && `node ${node.name}: instances of ${memoryUsed} MiB on ${node.memoryTotal} MiB`,
      Math.max(vcpusUsed, node.vcpusUsed) > vcpuLimit && `node ${node.name}: ${Math.max(vcpusUsed, node.vcpusUsed)} vcpus, over its limit of ${vcpuLimit}`,
      node.diskTotal > 0 && diskUsed > node.diskTotal && `node ${node.name}: file disks of ${diskUsed} MiB on ${node.diskTotal} MiB of local disk`,
      node.diskFree !== undefined && node.diskFree < 0 && `node ${node.name}: diskFree is ${node.diskFree} MiB`,
    ].filter((p): p is string => typeof p === 'string');
  });

/** At the end, besides the limits: the free capacity the nodes show agrees with their instances. */
export const capacityProblems = (views: Views): string[] => [
  ...limitProblems(views),
  ...views.nodes.flatMap((node) => {
    const primaries = views.instances.filter((i) => i.primaryNode === node.name);
    const memoryUsed = primaries.reduce((sum, i) => sum + i.memory, 0);
    const vcpusUsed = primaries.reduce((sum, i) => sum + i.vcpus, 0);
    const diskUsed = primaries.flatMap((i) => (i.diskTemplate === 'file' ? i.disks : [])).reduce((sum, d) => sum + d.size, 0);
    return [
      node.memoryFree !== node.memoryTotal - memoryUsed && `node ${node.name}: memoryFree ${node.memoryFree} but its instances leave ${node.memoryTotal - memoryUsed}`,
      node.vcpusUsed !== vcpusUsed && `node ${node.name}: vcpusUsed ${node.vcpusUsed} but its instances have ${vcpusUsed}`,
      node.diskFree !== undefined && node.diskTotal > 0 && node.diskFree !== node.diskTotal - diskUsed && `node ${node.name}: diskFree ${node.diskFree} but its file disks leave ${node.diskTotal - diskUsed}`,
    ].filter((p): p is string => typeof p === 'string');
  }),
];

/**
 * The limits at every cluster event after position AFTER: the log as `audit log` prints
 * it, folded here event by event with the projections' own fold, and each node's usage
 * — what sagas hold included — checked after every cluster event, so an overcommit
 * that a later move or removal hid is caught all the same.
 */
export const historyProblems = async (site: Site, after: number): Promise<string[]> => {
  const events = await site.json<(Omit<RecordedEvent, 'revision' | 'position'> & { revision: number; position: number })[]>('audit', 'log');
  const views = emptyViews();
  const problems: string[] = [];
  for (const e of events) {
    evolveViews(views, { ...e, revision: BigInt(e.revision), position: BigInt(e.position) });
    if (e.stream !== 'cluster' || e.position <= after) continue;
    const state = views.cluster;
    for (const node of state.nodes.values()) {
      const used = nodeUsage(state, node.uuid);
      const vcpuLimit = Math.floor(node.cpus * (state.params?.vcpuRatio ?? 0));
      const at = `after ${e.type} at position ${e.position}: node ${node.name}`;
      if (used.memoryMib > node.memoryMib) problems.push(`${at} holds ${used.memoryMib} MiB of memory and has ${node.memoryMib}`);
      if (used.vcpus > vcpuLimit) problems.push(`${at} holds ${used.vcpus} vcpus, its limit is ${vcpuLimit}`);
      if (node.diskMib > 0 && used.diskMib > node.diskMib) problems.push(`${at} holds ${used.diskMib} MiB of local disk and has ${node.diskMib}`);
    }
  }
  return problems;
};

/** Where a disk lives: two disks with the same key are one volume with two owners. */
const volumeKey = (instance: InstanceView, disk: DiskView): string => {
  if (disk.adopted) return `device ${disk.logicalId}`;
  if (instance.diskTemplate === 'ext') return `pool ${disk.pool} volume ${disk.logicalId}`;
  if (instance.diskTemplate === 'file') return `node ${instance.primaryNode} file ${disk.logicalId}`;
  return `${instance.diskTemplate} ${disk.logicalId}`;
};

/** No volume, adopted device or attached device has two owners. */
export const ownershipProblems = (views: Views): string[] => {
  const owners = new Map<string, string[]>();
  const note = (key: string, owner: string) => owners.set(key, [...(owners.get(key) ?? []), owner]);
  for (const instance of views.instances) {
    for (const disk of instance.disks) {
      note(volumeKey(instance, disk), `${instance.name}/disk${disk.index}`);
      if (disk.device !== null) note(`attached device ${disk.device}`, `${instance.name}/disk${disk.index}`);
    }
  }
  return [...owners].filter(([, who]) => who.length > 1).map(([key, who]) => `${key} is owned by ${who.join(' and ')}`);
};

export const finishedJobProblems = (views: Views): string[] =>
  views.jobs.filter((j) => !['success', 'error', 'canceled'].includes(j.status)).map((j) => `job ${j.id} (${j.opcodes.map((o) => o.type).join(',')}) is still ${j.status}`);

/** The live views and a replay of the whole log from scratch must be the same. */
export const replayProblems = (views: Views, replay: Views): string[] => {
  const problems: string[] = [];
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  for (const part of ['cluster', 'groups', 'pools', 'nodes', 'jobs'] as const) {
    if (!same(views[part], replay[part])) problems.push(`the live ${part} differ from a fresh replay: ${JSON.stringify(views[part])} vs ${JSON.stringify(replay[part])}`);
  }
  const names = new Set([...views.instances, ...replay.instances].map((i) => i.name));
  for (const name of names) {
    const live = views.instances.find((i) => i.name === name);
    const replayed = replay.instances.find((i) => i.name === name);
    if (!same(live, replayed)) problems.push(`instance ${name}: live ${JSON.stringify(live)} vs replayed ${JSON.stringify(replayed)}`);
  }
  return problems;
};

export interface PoolDir { name: string; dir: string; loops: boolean }
/** Where a site keeps what its disks really are. */
export interface Layout { dataDir: string; sharedDir?: string; pools: PoolDir[] }

const filesIn = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir).filter((f) => !f.startsWith('.')).sort() : []);
const filesTwoDeep = (dir: string): string[] =>
  filesIn(dir).flatMap((sub) => (statSync(join(dir, sub)).isDirectory() ? filesIn(join(dir, sub)).map((f) => join(sub, f)) : [sub]));
const sizeMib = (path: string): number => Math.floor(statSync(path).size / MIB);

/** Files that should be there and are not, files there that no disk in the views owns, and sizes that differ. */
const compareFiles = (where: string, root: string, present: string[], expected: Map<string, { owner: string; size: number }>): string[] => {
  const problems: string[] = [];
  for (const file of present) {
    const disk = expected.get(file);
    if (!disk) problems.push(`${where}: ${file} is there but no disk in the log owns it`);
    else if (sizeMib(join(root, file)) !== disk.size) problems.push(`${where}: ${file} is ${sizeMib(join(root, file))} MiB but ${disk.owner} is recorded as ${disk.size} MiB`);
  }
  for (const [file, disk] of expected) if (!present.includes(file)) problems.push(`${where}: ${disk.owner}'s volume ${file} is missing`);
  return problems;
};

export interface LoopDevice { name: string; backFile: string }

export const loopDevices = (): Promise<LoopDevice[]> =>
  new Promise((resolve, reject) => {
    execFile('losetup', ['--list', '--json', '--output', 'NAME,BACK-FILE'], (error, stdout) => {
      if (error) return reject(error);
      if (stdout.trim() === '') return resolve([]);
      const parsed = JSON.parse(stdout) as { loopdevices: { name: string; 'back-file': string | null }[] };
      resolve(parsed.loopdevices.map((l) => ({ name: l.name, backFile: l['back-file'] ?? '' })));
    });
  });

export const loopsUnder = async (dir: string): Promise<LoopDevice[]> => (await loopDevices()).filter((l) => l.backFile.startsWith(`${dir}/`));

/** Tears down every loop device backed by a file in DIR (test cleanup; safe to call twice). */
export const detachLoopsUnder = async (dir: string): Promise<void> => {
  for (const loop of await loopsUnder(dir)) {
    await new Promise<void>((resolve) => execFile('losetup', ['-d', loop.name], () => resolve()));
  }
};

/** Volume files, shared and local disk files, loop devices and running instances, against the views. */
export const realityProblems = async (views: Views, layout: Layout): Promise<string[]> => {
  const problems: string[] = [];
  /** The files the views say should be there: path (as the walk names it) -> owner and size. */
  const disksOf = (keep: (i: InstanceView, d: DiskView) => boolean, path: (d: DiskView) => string) =>
    new Map(views.instances.flatMap((i) => i.disks.filter((d) => !d.adopted && keep(i, d)).map((d) => [path(d), { owner: `${i.name}/disk${d.index}`, size: d.size }] as const)));

  for (const pool of layout.pools) {
    const expected = disksOf((i, d) => i.diskTemplate === 'ext' && d.pool === pool.name, (d) => d.logicalId);
    problems.push(...compareFiles(`pool ${pool.name}`, pool.dir, filesIn(pool.dir), expected));
    if (!pool.loops) continue;
    const loops = await loopsUnder(pool.dir);
    const attached = new Map(views.instances.flatMap((i) => i.disks.filter((d) => d.pool === pool.name && d.device !== null).map((d) => [d.logicalId, { owner: `${i.name}/disk${d.index}`, device: d.device! }] as const)));
    for (const loop of loops) {
      const file = loop.backFile.slice(pool.dir.length + 1).replace(/ \(deleted\)$/, '');
      const disk = attached.get(file);
      if (loop.backFile.endsWith(' (deleted)')) problems.push(`pool ${pool.name}: ${loop.name} still holds the removed volume ${file}`);
      else if (!disk) problems.push(`pool ${pool.name}: ${loop.name} is attached to ${file} but the log records no attachment`);
      else if (disk.device !== loop.name) problems.push(`pool ${pool.name}: ${loop.name} is attached to ${file} but ${disk.owner} is recorded on ${disk.device}`);
    }
    for (const [file, disk] of attached) {
      const on = loops.filter((l) => l.backFile === join(pool.dir, file)).map((l) => l.name);
      if (on.length !== 1 || on[0] !== disk.device) problems.push(`pool ${pool.name}: ${disk.owner} is recorded on ${disk.device} but ${file} is attached to [${on.join(', ')}]`);
    }
  }

  if (layout.sharedDir) {
    const expected = disksOf((i) => i.diskTemplate === 'sharedfile', (d) => d.logicalId.slice(layout.sharedDir!.length + 1));
    problems.push(...compareFiles('shared file storage', layout.sharedDir, filesTwoDeep(layout.sharedDir), expected));
  }

  for (const node of views.nodes) {
    const local = join(layout.dataDir, 'nodes', node.name, 'file-storage');
    const expected = disksOf((i) => i.diskTemplate === 'file' && i.primaryNode === node.name, (d) => d.logicalId);
    problems.push(...compareFiles(`node ${node.name} file storage`, local, filesTwoDeep(local), expected));

    // The fake hypervisor: an instance runs while NODE/fake-hv/NAME.json exists.
    const running = filesIn(join(layout.dataDir, 'nodes', node.name, 'fake-hv')).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5));
    const shouldRun = views.instances.filter((i) => i.adminState === 'up' && i.primaryNode === node.name).map((i) => i.name).sort();
    for (const name of running) if (!shouldRun.includes(name)) problems.push(`node ${node.name}: instance ${name} runs there but the log does not have it up there`);
    for (const name of shouldRun) if (!running.includes(name)) problems.push(`node ${node.name}: instance ${name} is up there in the log but does not run`);
  }
  return problems;
};

/** Every invariant at once: capacity, ownership, finished jobs, reality, replay. */
export const allProblems = async (site: Site, layout: Layout): Promise<{ views: Views; problems: string[] }> => {
  const views = await readViews(site);
  const replay = await readReplay(site);
  const problems = [
    ...finishedJobProblems(views),
    ...capacityProblems(views),
    ...ownershipProblems(views),
    ...(await realityProblems(views, layout)),
    ...replayProblems(views, replay),
  ];
  return { views, problems };
};

/**
 * Driver calls a trace dir saw start and not end, whose process is still alive: what a
 * killed engine left running. (test/fixtures/slow-driver.sh writes the trace.)
 */
export const driversStillRunning = (traceDir: string): number[] => {
  const file = join(traceDir, 'calls');
  if (!existsSync(file)) return [];
  const started = new Set<number>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const [what, pid] = line.split(' ');
    if (what === 'start') started.add(Number(pid));
    if (what === 'end') started.delete(Number(pid));
  }
  return [...started].filter((pid) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  });
};

export const driversSettled = (traceDir: string, seconds = 60): Promise<void> =>
  until(`the driver calls in ${traceDir} to end`, () => driversStillRunning(traceDir).length === 0, seconds);
