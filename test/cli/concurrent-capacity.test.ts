import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { freshSchemaUrl } from '../adapters/stores/pg-url.js';
import { capacityProblems, readReplay, readViews, replayProblems, runOpl, until, type JobView, type NodeView } from './invariants.js';
import { newSite, ok, type Site } from './opl.js';

/**
 * Issue 7's concurrent-capacity case: N clients ask at once for instances a node cannot
 * all hold. Exactly the ones that fit may succeed; the rest must fail as refused
 * (insufficient_resources), and the node never shows negative free capacity.
 *
 * Two ways of racing, because they race different things:
 * - "each client waits": N `opl instance add` processes, each following its own job.
 *   Every client is an independent process with its own store connection, and each
 *   may take the leader lease and run the queue when it finds nobody leading, so jobs
 *   are decided by whichever engine leads at that moment, handing over as clients end.
 * - "submitted, then one engine": N `--submit` processes queue their jobs before any
 *   engine runs, then one daemon finds all N queued at once. This is the issue's own
 *   reproduction (six --submit on a 2 GiB node left −7168 MiB free): every decision is
 *   taken concurrently inside one engine, against the same state.
 * The clients are real processes even at 32: starting them costs about 0.4 s of CPU
 * each (some 15 s on two cores), which is affordable, and folding them into a few
 * processes would test one process's queue rather than independent clients racing
 * for the store and the lease, which is the point.
 */

type Mode = 'each client waits' | 'submitted, then one engine';
const MODES: Mode[] = ['each client waits', 'submitted, then one engine'];
const STORES = [
  ['SQLite', () => undefined],
  ['PostgreSQL', freshSchemaUrl],
] as const;

interface Race {
  clients: number;
  /** What the node has: memory, and local disk when the race is for disk. */
  node: { memory: number; disk?: number };
  /** What each client asks for. */
  ask: { memory: number; fileDisk?: number };
}

interface Result { succeeded: string[]; refused: string[]; other: string[] }

const setUp = async (store: string | undefined, race: Race): Promise<Site> => {
  const site = newSite(store);
  await ok(site.opl('cluster', 'init', 'race'));
  await ok(site.opl('group', 'add', 'g'));
  // vcpus are never what runs out: 64 cpus × vcpu-ratio 4 leaves room for every client.
  await ok(site.opl('node', 'add', 'small', '--group', 'g', '--memory', `${race.node.memory}M`, '--cpus', '64', ...(race.node.disk !== undefined ? ['--disk', `${race.node.disk}M`] : [])));
  return site;
};

const addArgs = (name: string, race: Race): string[] => [
  'instance', 'add', name,
  '-t', race.ask.fileDisk !== undefined ? 'file' : 'diskless',
  '--memory', `${race.ask.memory}M`, '--vcpus', '1', '-n', 'small',
  ...(race.ask.fileDisk !== undefined ? ['--disk', `0:size=${race.ask.fileDisk}M`] : []),
];

const refusedForRoom = /insufficient_resources/;

const eachClientWaits = async (site: Site, names: string[], race: Race): Promise<Result> => {
  const outcomes = await Promise.all(names.map((name) => runOpl(site, addArgs(name, race))));
  const result: Result = { succeeded: [], refused: [], other: [] };
  outcomes.forEach((o, i) => {
    if (o.code === 0) result.succeeded.push(names[i]!);
    else if (o.code === 1 && refusedForRoom.test(o.stderr)) result.refused.push(names[i]!);
    else result.other.push(`${names[i]}: exit ${o.code ?? o.signal}: ${o.stderr.trim()}`);
  });
  return result;
};

const submittedThenOneEngine = async (site: Site, names: string[], race: Race): Promise<Result> => {
  const submitted = await Promise.all(names.map((name) => runOpl(site, [...addArgs(name, race), '--submit', '--output', 'json'])));
  for (const s of submitted) expect(s.code, s.stderr).toBe(0);
  const jobIds = submitted.map((s) => (JSON.parse(s.stdout) as { jobId: number }).jobId);
  const finished = async () => {
    const jobs = await site.json<JobView[]>('job', 'list');
    return jobIds.every((id) => ['success', 'error', 'canceled'].includes(jobs.find((j) => j.id === id)?.status ?? 'missing'));
  };
  expect(await finished()).toBe(false); // nothing ran them yet: the daemon finds all of them queued
  const daemon = site.spawn('daemon');
  const stopped = once(daemon, 'exit');
  try {
    await until(`the ${names.length} jobs to end`, finished, 120);
  } finally {
    daemon.kill('SIGTERM');
    await stopped;
  }
  const jobs = await site.json<JobView[]>('job', 'list');
  const result: Result = { succeeded: [], refused: [], other: [] };
  jobIds.forEach((id, i) => {
    const job = jobs.find((j) => j.id === id)!;
    const error = job.opcodes[0]?.error;
    if (job.status === 'success') result.succeeded.push(names[i]!);
    else if (job.status === 'error' && error?.code === 'insufficient_resources') result.refused.push(names[i]!);
    else result.other.push(`${names[i]}: job ${id} ${job.status}: ${error?.message ?? ''}`);
  });
  return result;
};

const runRace = async (store: string | undefined, race: Race, mode: Mode) => {
  const site = await setUp(store, race);
  const names = Array.from({ length: race.clients }, (_, i) => `i${i + 1}`);
  const result = mode === 'each client waits' ? await eachClientWaits(site, names, race) : await submittedThenOneEngine(site, names, race);
  const fit = race.ask.fileDisk !== undefined ? Math.floor(race.node.disk! / race.ask.fileDisk) : Math.floor(race.node.memory / race.ask.memory);
  const expectedFit = Math.min(fit, race.clients);

  expect(result.other, 'every client either succeeds or is refused for want of room').toEqual([]);
  expect(result.succeeded, `exactly ${expectedFit} of ${race.clients} fit; refused: ${result.refused.join(',')}`).toHaveLength(expectedFit);
  expect(result.refused).toHaveLength(race.clients - expectedFit);

  const node = await site.json<NodeView>('node', 'info', 'small');
  expect(node.memoryFree).toBeGreaterThanOrEqual(0);
  expect(node.memoryFree).toBe(race.node.memory - race.ask.memory * result.succeeded.length);
  if (race.ask.fileDisk !== undefined) {
    // The engine reports local disk left once `file` disks count against --disk.
    expect(node.diskFree, 'node info reports diskFree').toBeDefined();
    expect(node.diskFree).toBeGreaterThanOrEqual(0);
    expect(node.diskFree).toBe(race.node.disk! - race.ask.fileDisk * result.succeeded.length);
  }
  const views = await readViews(site);
  expect(views.instances.map((i) => i.name).sort()).toEqual([...result.succeeded].sort());
  expect(capacityProblems(views)).toEqual([]);
  expect(replayProblems(views, await readReplay(site))).toEqual([]);
};

const GIB = 1024;

describe.each(STORES)('opl on %s: concurrent clients never overcommit a node', (_store, storeUrl) => {
  describe.each(MODES)('%s', (mode) => {
    it.each([2, 8, 32])('%i clients ask for 1536 MiB each on a 2 GiB node: exactly one fits', async (clients) => {
      await runRace(storeUrl(), { clients, node: { memory: 2 * GIB }, ask: { memory: 1536 } }, mode);
    }, 240_000);

    it('8 clients ask for 1536 MiB each on an 8 GiB node: exactly five fit', async () => {
      await runRace(storeUrl(), { clients: 8, node: { memory: 8 * GIB }, ask: { memory: 1536 } }, mode);
    }, 240_000);

  });

  // Local disk is reserved by the same decision as memory; one way of racing is enough for it.
  it('8 clients ask for a 1536 MiB file disk each on a node with 2 GiB of local disk: exactly one fits', async () => {
    await runRace(storeUrl(), { clients: 8, node: { memory: 64 * GIB, disk: 2 * GIB }, ask: { memory: 128, fileDisk: 1536 } }, 'submitted, then one engine');
  }, 240_000);
});
