import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it, type ExpectStatic } from 'vitest';
import {
  allProblems, detachLoopsUnder, driversSettled, removeArgs, runOpl, siteFrom, tempDir, until,
  type InstanceView, type JobView, type Views,
} from './invariants.js';
import { newSite, ok, type Site } from './opl.js';

/**
 * Issue 7: an engine SIGKILLed at any step of any saga leaves nothing the log does not
 * know about. For every saga and every kill point the engine offers (OPL_FAULT_KILL_AT):
 *   step:0    right after OpcodeStarted, before anything;
 *   reserved  once the saga's decision (its capacity reservation) is in the cluster stream;
 *   intent:N  right after step N's intent is recorded and its call started: the driver
 *             is slow, so it is still sleeping and does its work after the engine died;
 *   step:N    after step N's outcome is recorded;
 *   recorded  after the final cluster append, before the opcode is marked done;
 * the command is run and must die by SIGKILL; a successor (`opl debug delay 0`, which
 * leads and finishes what the dead engine left first) must end the job, by completing
 * the saga or undoing it; and once every driver call the dead engine started has ended,
 * no volume, loop device or running instance may be unknown to the log, and the views
 * must equal a fresh replay. One more case per saga kills at step:K+1, which must never
 * be reached: it proves K is the saga's real number of steps.
 *
 * Each case gets its own data dir, copied from a cluster built once, and its own pool,
 * shared and trace dirs, so the cases can run concurrently.
 */

/** How long each driver call sleeps during the killed command: long enough for the successor to start first. */
const SLOW_SECONDS = '1';

/**
 * A case is some 15 `opl` processes and a few seconds of driver sleeps: about 15 s on an
 * idle two-core machine. The bound is generous because the cases run five at a time
 * and other suites may be running beside them.
 */
const CASE_TIMEOUT = 300_000;

type Check = (views: Views) => string[];
interface Saga {
  name: string;
  driver: 'slow-filepool' | 'slow-looppool';
  /** Commands that make the instance the saga works on, at full speed. */
  prepare: (site: Site) => Promise<string[][]>;
  command: (site: Site) => Promise<string[]>;
  /** The saga's steps (its side effects, each with an intent and an outcome). */
  steps: number;
  /** What must be true when the job succeeded, and when it failed and was undone. */
  done: Check;
  undone: Check;
}

const instance = (views: Views, name: string): InstanceView | undefined => views.instances.find((i) => i.name === name);
const expectThat = (problems: [boolean, string][]): string[] => problems.filter(([holds]) => !holds).map(([, what]) => what);
const exists = (name: string, node = 'a1', state: 'up' | 'down' = 'up'): Check => (views) => {
  const i = instance(views, name);
  return expectThat([[i !== undefined, `instance ${name} exists`], [i?.primaryNode === node, `${name} is on ${node}`], [i?.adminState === state, `${name} is ${state}`]]);
};
const absent = (name: string): Check => (views) => expectThat([[instance(views, name) === undefined, `instance ${name} is gone`]]);
const both = (...checks: Check[]): Check => (views) => checks.flatMap((c) => c(views));

const add = (template: string, ...extra: string[]) => ['instance', 'add', 'vm', '-t', template, '--memory', '512M', '--vcpus', '1', '-n', 'a1', ...extra];
const twoDisks = ['--disk', '0:size=8M', '--disk', '1:size=4M'];
const diskSizes = (sizes: number[]): Check => (views) => expectThat([[JSON.stringify(instance(views, 'vm')?.disks.map((d) => d.size)) === JSON.stringify(sizes), `vm's disks are ${sizes.join(', ')} MiB`]]);

const SAGAS: Saga[] = [
  {
    name: 'create ext (2 disks, started)',
    driver: 'slow-filepool',
    prepare: async () => [],
    command: async () => add('ext:nas', ...twoDisks),
    steps: 3, // create disk 0, create disk 1, start
    done: both(exists('vm'), diskSizes([8, 4])),
    undone: absent('vm'),
  },
  {
    name: 'create sharedfile (2 disks, started)',
    driver: 'slow-filepool',
    prepare: async () => [],
    command: async () => add('sharedfile', ...twoDisks),
    steps: 3, // create disk 0, create disk 1, start
    done: both(exists('vm'), diskSizes([8, 4])),
    undone: absent('vm'),
  },
  {
    name: 'grow-disk',
    driver: 'slow-filepool',
    prepare: async () => [add('ext:nas', ...twoDisks)],
    command: async () => ['instance', 'grow-disk', 'vm', '0', '8M'],
    steps: 1, // grow
    done: both(exists('vm'), diskSizes([16, 4])),
    undone: both(exists('vm'), diskSizes([8, 4])),
  },
  {
    name: 'rename',
    driver: 'slow-filepool',
    prepare: async () => [add('ext:nas', ...twoDisks, '--no-start')],
    command: async () => ['instance', 'rename', 'vm', 'vm2'],
    steps: 2, // rename disk 0, rename disk 1
    done: both(absent('vm'), exists('vm2', 'a1', 'down')),
    undone: both(absent('vm2'), exists('vm', 'a1', 'down')),
  },
  {
    name: 'remove',
    driver: 'slow-filepool',
    prepare: async () => [add('ext:nas', ...twoDisks)],
    command: (site) => removeArgs(site, 'vm'),
    steps: 4, // stop on a1, clean up on a1, remove disk 0, remove disk 1
    done: absent('vm'),
    undone: exists('vm'),
  },
  {
    name: 'migrate',
    driver: 'slow-filepool',
    prepare: async () => [add('ext:nas', '--disk', '0:size=8M')],
    command: async () => ['instance', 'migrate', 'vm', '-n', 'a2'],
    steps: 4, // attach on a2, start on a2, clean up on a1, detach on a1
    done: exists('vm', 'a2'),
    undone: exists('vm', 'a1'),
  },
  {
    name: 'failover',
    driver: 'slow-filepool',
    prepare: async () => [add('ext:nas', '--disk', '0:size=8M')],
    command: async () => ['instance', 'failover', 'vm', '-n', 'a2'],
    steps: 4, // attach on a2, stop on a1, start on a2, detach on a1
    done: exists('vm', 'a2'),
    undone: exists('vm', 'a1'),
  },
  {
    name: 'activate-disks (real loop devices)',
    driver: 'slow-looppool',
    prepare: async () => [add('ext:nas', ...twoDisks, '--no-start')],
    command: async () => ['instance', 'activate-disks', 'vm'],
    steps: 2, // attach disk 0, attach disk 1
    done: (views) => expectThat([[instance(views, 'vm')?.disks.every((d) => d.device?.startsWith('/dev/loop')) === true, "vm's disks are attached as loop devices"]]),
    undone: (views) => expectThat([[instance(views, 'vm')?.disks.every((d) => d.device === null) === true, "vm's disks are not attached"]]),
  },
];

const killPointsOf = (steps: number): string[] => [
  'step:0',
  'reserved',
  ...Array.from({ length: steps }, (_, i) => `intent:${i + 1}`),
  ...Array.from({ length: steps }, (_, i) => `step:${i + 1}`),
  'recorded',
];

let template: string;
const poolDirs = new Set<string>();

beforeAll(async () => {
  const base = newSite();
  await ok(base.opl('cluster', 'init', 'kill'));
  await ok(base.opl('group', 'add', 'g'));
  for (const node of ['a1', 'a2']) await ok(base.opl('node', 'add', node, '--group', 'g', '--memory', '4G', '--cpus', '4'));
  template = base.dataDir;
});

afterAll(async () => {
  // Loop devices outlive the test process: tear down every one a case made, even after a failure.
  for (const dir of poolDirs) await detachLoopsUnder(dir);
});

/** A case's own cluster: a copy of the template, with its own pool, shared and trace dirs. */
const caseSite = async (saga: Saga) => {
  const site = siteFrom(template);
  const pool = tempDir('saga-pool');
  const shared = tempDir('saga-shared');
  const trace = tempDir('saga-trace');
  poolDirs.add(pool);
  await ok(site.opl('cluster', 'modify', '--shared-file-storage-dir', shared, '--add-pool', 'nas', saga.driver, '--pool-param', `dir=${pool}`, '--pool-param', `trace=${trace}`));
  await ok(site.opl('group', 'modify', 'g', '--connect-pool', 'nas'));
  for (const command of await saga.prepare(site)) await ok(site.opl(...command));
  const layout = { dataDir: site.dataDir, sharedDir: shared, pools: [{ name: 'nas', dir: pool, loops: saga.driver === 'slow-looppool' }] };
  return { site, pool, trace, layout };
};

const jobInfo = (site: Site, id: number) => site.json<JobView>('job', 'info', String(id));

const runCase = async (expect: ExpectStatic, saga: Saga, point: string, reached: boolean) => {
  const { site, pool, trace, layout } = await caseSite(saga);
  try {
    const jobId = Math.max(0, ...(await site.json<JobView[]>('job', 'list')).map((j) => j.id)) + 1;
    writeFileSync(join(trace, 'delay'), SLOW_SECONDS);
    const victim = await runOpl(site, await saga.command(site), { OPL_FAULT_KILL_AT: point });
    if (reached) {
      expect(victim.signal, `killed at ${point}; it ended with exit ${victim.code}: ${victim.stderr}`).toBe('SIGKILL');
      await ok(site.opl('debug', 'delay', '0'));
    } else {
      expect([victim.code, victim.signal], `${point} is past the saga's last step; it ended with: ${victim.stderr}`).toEqual([0, null]);
    }
    await until(`job ${jobId} to end`, async () => ['success', 'error', 'canceled'].includes((await jobInfo(site, jobId)).status));
    // What the dead engine left running must finish before reality is compared with the log.
    await driversSettled(trace);
    const { views, problems } = await allProblems(site, layout);
    expect(problems).toEqual([]);
    const job = views.jobs.find((j) => j.id === jobId)!;
    expect(['success', 'error'], `job ${jobId} ended ${job.status}`).toContain(job.status);
    if (!reached) expect(job.status).toBe('success');
    expect(job.status === 'success' ? saga.done(views) : saga.undone(views), `job ${jobId} ended ${job.status}: ${JSON.stringify(job.opcodes[0]?.error)}`).toEqual([]);
  } finally {
    await driversSettled(trace).catch(() => undefined);
    await detachLoopsUnder(pool);
  }
};

describe('opl: every saga survives SIGKILL at every step, leaving nothing unknown to the log', () => {
  for (const saga of SAGAS) {
    describe.concurrent(saga.name, () => {
      it.for(killPointsOf(saga.steps))('killed at %s', { timeout: CASE_TIMEOUT }, async (point, { expect }) => {
        await runCase(expect, saga, point, true);
      });
      it(`never reaches step:${saga.steps + 1}: it has ${saga.steps} steps`, async ({ expect }) => {
        await runCase(expect, saga, `step:${saga.steps + 1}`, false);
      }, CASE_TIMEOUT);
    });
  }
});
