import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { newSite, ok, type Site } from './opl.js';

/**
 * An engine SIGKILLed at every point of a move's saga (OPL_FAULT_KILL_AT makes it kill
 * itself there): the next engine must carry the move to one consistent end, with the
 * instance recorded once, running on one node, and its disks held by that node only.
 */
const drivers = fileURLToPath(new URL('../fixtures/drivers', import.meta.url));
interface Instance { primaryNode: string; adminState: string }
interface Job { status: string; opcodes: { attempts: number; status: string }[] }

const running = (site: Site, node: string, instance: string) => existsSync(join(site.dataDir, 'nodes', node, 'fake-hv', `${instance}.json`));

/** Which nodes hold each disk after replaying the driver's attach/detach calls. */
const holders = (volumes: string): Map<string, Set<string>> => {
  const held = new Map<string, Set<string>>();
  for (const line of readFileSync(join(volumes, 'calls'), 'utf8').trim().split('\n')) {
    const [action, disk, node] = line.split(' ') as [string, string, string];
    const nodes = held.get(disk) ?? new Set<string>();
    if (action === 'attach') nodes.add(node);
    else nodes.delete(node);
    held.set(disk, nodes);
  }
  return held;
};

const setUp = async () => {
  const site = newSite();
  site.env.OPL_STORAGE_DRIVER_PATH = drivers;
  const volumes = mkdtempSync(join(tmpdir(), 'opl-vol-'));
  await ok(site.opl('cluster', 'init', 'crash'));
  await ok(site.opl('group', 'add', 'ga'));
  for (const n of ['a1', 'a2']) await ok(site.opl('node', 'add', n, '--group', 'ga', '--memory', '4G', '--cpus', '4'));
  await ok(site.opl('cluster', 'modify', '--add-pool', 'nas', 'call-log', '--pool-param', `dir=${volumes}`));
  await ok(site.opl('group', 'modify', 'ga', '--connect-pool', 'nas'));
  await ok(site.opl('instance', 'add', 'app', '-t', 'ext:nas', '--memory', '1G', '--vcpus', '1', '-n', 'a1', '--disk', '0:size=1M'));
  return { site, volumes };
};

// Live migration of one disk: attach on a2, start on a2, clean up on a1, detach on a1.
// Failover: attach on a2, stop on a1, start on a2, detach on a1.
const killPoints = ['step:0', 'step:1', 'step:2', 'step:3', 'step:4', 'recorded'];
const moves = [
  ['migrate', ['instance', 'migrate', 'app', '-n', 'a2']],
  ['failover', ['instance', 'failover', 'app', '-n', 'a2']],
] as const;

describe('opl: a move\'s saga survives SIGKILL at every step', () => {
  it('refuses a kill point it cannot read, before touching the store', async () => {
    const site = newSite();
    site.env.OPL_FAULT_KILL_AT = 'sometime';
    const r = await site.opl('cluster', 'init', 'never');
    expect([r.code, r.stderr]).toEqual([2, "opl: cluster init: OPL_FAULT_KILL_AT 'sometime': expected step:N, intent:N, reserved or recorded\n"]);
    delete site.env.OPL_FAULT_KILL_AT;
    expect((await site.opl('cluster', 'info')).code).not.toBe(0);
  });

  it.each(moves.flatMap(([what, args]) => killPoints.map((point) => [what, point, args] as const)))('%s killed at %s', async (_what, point, args) => {
    const { site, volumes } = await setUp();
    const jobId = String((await site.json<unknown[]>('job', 'list')).length + 1);
    site.env.OPL_FAULT_KILL_AT = point;
    const victim = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      const child = site.spawn(...args);
      child.on('exit', (code, signal) => resolve({ code, signal }));
    });
    delete site.env.OPL_FAULT_KILL_AT;
    expect(victim.signal).toBe('SIGKILL');
    expect((await site.json<Instance>('instance', 'info', 'app')).primaryNode).toBe(point === 'recorded' ? 'a2' : 'a1');
    const stepsBefore = (await site.json<{ type: string }[]>('audit', 'log', '--job', jobId)).filter((e) => e.type === 'SagaStepSucceeded').length;
    expect(stepsBefore).toBe(point === 'recorded' ? 4 : Number(point.slice(5)));
    await ok(site.opl('debug', 'delay', '0'));
    const job = await site.json<Job>('job', 'info', jobId);
    expect(job.status).toBe('success');
    expect(job.opcodes[0]!.attempts).toBe(point === 'recorded' ? 1 : 2);
    expect(await site.json<Instance>('instance', 'info', 'app')).toMatchObject({ primaryNode: 'a2', adminState: 'up' });
    expect([running(site, 'a1', 'app'), running(site, 'a2', 'app')]).toEqual([false, true]);
    expect(holders(volumes).get('app.0')).toEqual(new Set(['a2']));
    const moved = (await site.json<{ type: string }[]>('audit', 'log', '--instance', 'app')).filter((e) => e.type === 'InstanceMoved');
    expect(moved).toHaveLength(1);
  }, 60_000);
});
