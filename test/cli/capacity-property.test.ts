import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { freshSchemaUrl } from '../adapters/stores/pg-url.js';
import { allProblems, DRIVER_PATH, historyProblems, removeArgs, runClients, siteFrom, tempDir, type Layout, type Outcome } from './invariants.js';
import { newSite, ok, type Site } from './opl.js';

/**
 * Issue 7's property: several clients, each running a short random sequence of
 * create / grow-disk / migrate / failover / remove against one real store, all at
 * once. Whatever the interleaving, afterwards no node's memory, vcpus or local disk
 * is overcommitted, no volume or device has two owners, every volume file (pool,
 * shared and local) belongs to exactly one disk in the views and the other way round,
 * the fake hypervisor runs exactly the instances that are up, and the views equal a
 * fresh replay of the log.
 *
 * Each run is a new cluster. fast-check prints the seed and path of a failing run;
 * OPL_PROPERTY_SEED=N replays that seed. Shrinking is bounded (every run is real
 * processes), and a race may not repeat while shrinking: the first failure's report,
 * with its data dir, is the one to read.
 */

const NODES = ['n1', 'n2', 'n3'];
const TEMPLATES = ['diskless', 'sharedfile', 'file', 'ext'] as const;

/**
 * Which instance a command is about: mostly one of the client's own (so its grows and
 * moves find something to act on), sometimes the name every client shares (so two
 * clients create, move and remove the same instance, and race for its volumes).
 * Capacity is contended either way: there are only three nodes.
 */
type Target = 'mine0' | 'mine1' | 'shared';
const nameOf = (target: Target, client: number): string => (target === 'shared' ? 'x' : `c${client + 1}${target === 'mine0' ? 'a' : 'b'}`);

type Command =
  | { kind: 'create'; target: Target; template: (typeof TEMPLATES)[number]; memory: number; vcpus: number; node: string; disks: number[] }
  | { kind: 'grow'; target: Target; disk: number; amount: number }
  | { kind: 'migrate' | 'failover'; target: Target; node: string }
  | { kind: 'remove'; target: Target };

const target = fc.constantFrom<Target>('mine0', 'mine0', 'mine1', 'shared');
const node = fc.constantFrom(...NODES);
const create = fc.record({ kind: fc.constant('create' as const), target, template: fc.constantFrom(...TEMPLATES), memory: fc.constantFrom(512, 1024, 1536, 2048), vcpus: fc.integer({ min: 1, max: 4 }), node, disks: fc.array(fc.constantFrom(16, 64, 128), { minLength: 1, maxLength: 2 }) });
const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 2, arbitrary: create },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('grow' as const), target, disk: fc.integer({ min: 0, max: 1 }), amount: fc.constantFrom(16, 64, 128) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constantFrom('migrate' as const, 'failover' as const), target, node }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('remove' as const), target }) },
);
/** A client starts with a create, then up to 3 more commands. */
const client = fc.tuple(create, fc.array(command, { maxLength: 3 })).map(([first, rest]): Command[] => [first, ...rest]);
/** 2 to 4 clients; shrinking bounded because every run is real processes. */
const clients = fc.limitShrink(fc.array(client, { minLength: 2, maxLength: 4 }), 12);

const argsOf = async (site: Site, c: Command, clientIndex: number): Promise<string[]> => {
  const name = nameOf(c.target, clientIndex);
  switch (c.kind) {
    case 'create':
      return [
        'instance', 'add', name, '-t', c.template === 'ext' ? 'ext:nas' : c.template, '--memory', `${c.memory}M`, '--vcpus', String(c.vcpus), '-n', c.node,
        ...(c.template === 'diskless' ? [] : c.disks.flatMap((size, i) => ['--disk', `${i}:size=${size}M`])),
      ];
    case 'grow':
      return ['instance', 'grow-disk', name, String(c.disk), `${c.amount}M`];
    case 'migrate':
    case 'failover':
      return ['instance', c.kind, name, '-n', c.node];
    case 'remove':
      return removeArgs(site, name);
  }
};

/** A command may succeed or be refused (a failed job); anything else is a bug of its own. */
const outcomeProblem = (args: string[], o: Outcome): string | undefined => {
  if (o.code === 0 && !o.stderr.includes('opl: engine:')) return undefined;
  if (o.code === 1 && /^opl: job \d+ failed: /m.test(o.stderr) && !o.stderr.includes('opl: engine:')) return undefined;
  return `opl ${args.join(' ')} ended with ${o.code ?? o.signal}: ${o.stderr.trim()}`;
};

/** The group, its three nodes (3 GiB, 2 cpus × vcpu-ratio 4, 256 MiB of local disk each). */
const buildBase = async (site: Site) => {
  await ok(site.opl('cluster', 'init', 'prop'));
  await ok(site.opl('group', 'add', 'g'));
  for (const n of NODES) await ok(site.opl('node', 'add', n, '--group', 'g', '--memory', '3G', '--cpus', '2', '--disk', '256M'));
};

/** A run's own shared dir and filepool pool, so the files of one run are never another's. */
const attachStorage = async (site: Site): Promise<Layout> => {
  site.env.OPL_STORAGE_DRIVER_PATH = DRIVER_PATH;
  const shared = tempDir('prop-shared');
  const pool = tempDir('prop-pool');
  await ok(site.opl('cluster', 'modify', '--shared-file-storage-dir', shared, '--add-pool', 'nas', 'filepool', '--pool-param', `dir=${pool}`));
  await ok(site.opl('group', 'modify', 'g', '--connect-pool', 'nas'));
  return { dataDir: site.dataDir, sharedDir: shared, pools: [{ name: 'nas', dir: pool, loops: false }] };
};

const describeRun = (argv: string[][][], outcomes: Outcome[][]): string =>
  argv
    .map((cmds, c) => `client ${c + 1}: ${cmds.map((args, i) => `${args.join(' ')} -> ${outcomes[c]?.[i]?.code === 0 ? 'ok' : (outcomes[c]?.[i]?.stderr.trim().split('\n').at(-1) ?? '?')}`).join('; ')}`)
    .join('\n');

/** How often each kind of command (creates by template) succeeded, over all runs: proof the property exercised something. */
type Tally = Map<string, { ok: number; refused: number }>;
const kindOf = (c: Command) => (c.kind === 'create' ? `create ${c.template}` : c.kind);

const checkRun = async (site: Site, layout: Layout, plan: Command[][], tally: Tally): Promise<void> => {
  const argv = await Promise.all(plan.map((cmds, client) => Promise.all(cmds.map((c) => argsOf(site, c, client)))));
  const before = (await site.json<{ position: number }>('audit', 'replay')).position;
  const outcomes = await runClients(site, argv);
  plan.flat().forEach((c, i) => {
    const counts = tally.get(kindOf(c)) ?? { ok: 0, refused: 0 };
    if (outcomes.flat()[i]!.code === 0) counts.ok++;
    else counts.refused++;
    tally.set(kindOf(c), counts);
  });
  const bad = outcomes.flatMap((os, c) => os.map((o, i) => outcomeProblem(argv[c]![i]!, o))).filter((p): p is string => p !== undefined);
  const { problems } = await allProblems(site, layout);
  const history = await historyProblems(site, before);
  if (bad.length + problems.length + history.length > 0) {
    throw new Error(`invariants broken (data dir ${site.dataDir}):\n${[...bad, ...problems, ...history].join('\n')}\n\nthe run:\n${describeRun(argv, outcomes)}`);
  }
};

const seed = process.env.OPL_PROPERTY_SEED !== undefined ? Number(process.env.OPL_PROPERTY_SEED) : Date.now() % 2 ** 31;

/** Runs the property; on failure the message has fast-check's counterexample, seed and path. */
const holds = async (run: (plan: Command[][], tally: Tally) => Promise<void>, numRuns: number): Promise<Tally> => {
  const tally: Tally = new Map();
  const details = await fc.check(fc.asyncProperty(clients, (plan) => run(plan, tally)), { numRuns, seed });
  const error = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance ?? '');
  expect(details.failed, `${fc.defaultReportMessage(details)}\n\n${error}`).toBe(false);
  expect(details.numRuns).toBe(numRuns);
  console.log(`seed ${seed}: ${[...tally].map(([kind, n]) => `${kind} ${n.ok} ok/${n.refused} refused`).join(', ')}`);
  return tally;
};

describe('opl: random concurrent clients never break the invariants', () => {
  let template: string;
  beforeAll(async () => {
    const base = newSite();
    await buildBase(base);
    template = base.dataDir;
  });

  it('on SQLite', async () => {
    // Each run starts from a copy of a cluster built once: setting it up is most of a run's cost.
    const tally = await holds(async (plan, t) => {
      const site = siteFrom(template);
      await checkRun(site, await attachStorage(site), plan, t);
    }, 15);
    for (const template of TEMPLATES) expect(tally.get(`create ${template}`)?.ok, `some create -t ${template} succeeded`).toBeGreaterThan(0);
  }, 1_200_000);

  it('on PostgreSQL', async () => {
    const tally = await holds(async (plan, t) => {
      const site = newSite(freshSchemaUrl());
      await buildBase(site);
      await checkRun(site, await attachStorage(site), plan, t);
    }, 5);
    expect([...tally].filter(([kind]) => kind.startsWith('create')).reduce((sum, [, n]) => sum + n.ok, 0), 'some create succeeded').toBeGreaterThan(0);
  }, 900_000);
});
