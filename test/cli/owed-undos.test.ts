import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNoded, tempRoot, type RunningNoded } from '../noded/cluster-pki.js';
import { runOpl, until } from './invariants.js';
import { newSite, ok, type Site } from './opl.js';
import { joinNode } from './joined-node.js';

/**
 * A saga mid-way on a node that died: `instance add` on n1 (the real `opl-noded`) is
 * SIGKILLed once n1's daemon has made the disk; n1's daemon is stopped; the successor
 * engine goes on, cannot start the guest, and cannot remove the disk either. The undo is
 * not lost: n1 owes it (node info, cluster verify), `node repair` does it once n1 answers
 * again (a leading `opl daemon` submits that job by itself), and `node repair --give-up`
 * drops it for a node that is gone.
 */
interface JobView { id: number; status: string; opcodes: { log: { level: string; message: string }[] }[] }

let site: Site;
let root: string;
let n1Dir: string;
let daemon: RunningNoded | undefined;
let port = 0;

const lastJob = async () => (await site.json<JobView[]>('job', 'list')).reduce((a, b) => (a.id > b.id ? a : b));
const disk = (name: string) => join(n1Dir, 'file-storage', name, 'disk0');

/** Starts `instance add NAME` on n1, kills its engine after the disk is made, stops n1, and lets a successor fail the job. */
const failMidway = async (name: string) => {
  const victim = await runOpl(site, ['instance', 'add', name, '-t', 'file', '--disk', '0:size=1M', '--memory', '128M', '--vcpus', '1', '-n', 'n1'], { OPL_FAULT_KILL_AT: 'step:1' });
  expect(victim.signal, victim.stderr).toBe('SIGKILL');
  expect(existsSync(disk(name))).toBe(true);
  const job = await lastJob();
  await daemon!.stop();
  daemon = undefined;
  await ok(site.opl('debug', 'delay', '0'));
  await until(`job ${job.id} to end`, async () => (await site.json<JobView>('job', 'info', String(job.id))).status === 'error');
  return site.json<JobView>('job', 'info', String(job.id));
};
const restart = async () => {
  daemon = await startNoded(n1Dir, ['--listen', `127.0.0.1:${port}`]);
};

beforeAll(async () => {
  site = newSite();
  site.env.OPL_LEASE_TTL_MS = '1000'; // a SIGKILLed engine's lease: the successor waits a second, not ten
  root = tempRoot();
  await ok(site.opl('cluster', 'init', 'c1'));
  await ok(site.opl('group', 'add', 'g1'));
  ({ daemon, dir: n1Dir } = await joinNode(site, root, 'n1'));
  port = daemon.port;
}, 120_000);

afterAll(async () => {
  await daemon?.stop();
  rmSync(root, { recursive: true, force: true });
  rmSync(site.dataDir, { recursive: true, force: true });
});

describe('undos a dead node owes', () => {
  it('records the undo the node could not do as owed by it, and shows it', async () => {
    const job = await failMidway('i1');
    expect(job.opcodes[0]!.log.map((l) => l.message)).toContainEqual(
      "could not undo (removing disk 0 of i1 (file i1/disk0)): node n1 does not answer; it owes this undo: 'opl node repair n1' does it once the node answers, 'opl node repair n1 --give-up' drops it",
    );
    expect(existsSync(disk('i1'))).toBe(true);
    expect((await ok(site.opl('node', 'info', 'n1'))).stdout).toMatch(/^Undos owed: +1 \('opl node repair n1' once it answers\)\n +job \d+: +removing disk 0 of i1 \(file i1\/disk0\)$/m);
    const verify = await site.opl('cluster', 'verify');
    expect(verify.code).toBe(1);
    expect(verify.stdout).toMatch(/^ERROR: node n1: owes 1 undo\(s\) of failed job\(s\) \d+ \(removing disk 0 of i1 \(file i1\/disk0\)\): 'opl node repair n1' once it answers$/m);
    const repair = await site.opl('node', 'repair', 'n1');
    expect(repair.code).not.toBe(0); // still dead: the repair fails, and it is still owed
    expect((await ok(site.opl('node', 'info', 'n1'))).stdout).toMatch(/^Undos owed: +1 /m);
  });

  it('does it once the node answers again: the disk is gone from its host and nothing is owed', async () => {
    await restart();
    await ok(site.opl('node', 'repair', 'n1'));
    expect(existsSync(join(n1Dir, 'file-storage', 'i1'))).toBe(false);
    expect((await ok(site.opl('node', 'info', 'n1'))).stdout).toMatch(/^Undos owed: +none$/m);
    expect((await ok(site.opl('cluster', 'verify'))).stdout).toMatch(/no problems/);
    expect((await ok(site.opl('node', 'repair', 'n1'))).stderr).toMatch(/nothing to do/);
  });

  it('a leading opl daemon does it by itself once the node answers again, as a node repair job', async () => {
    await failMidway('i3');
    site.env.OPL_REPAIR_INTERVAL_MS = '200';
    const leader = site.spawn('daemon');
    let stderr = '';
    leader.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise((done) => leader.once('exit', done));
    try {
      await until('the daemon to lead', () => stderr.includes('leading'));
      expect(existsSync(disk('i3'))).toBe(true); // n1 is still dead: nothing can be done yet
      await restart();
      await until('the daemon to repair n1', () => /node n1 answers again; job \d+ does the undos it owes/.test(stderr));
      await until("n1's undo to be done", async () => /^Undos owed: +none$/m.test((await ok(site.opl('node', 'info', 'n1'))).stdout));
      expect(existsSync(join(n1Dir, 'file-storage', 'i3'))).toBe(false);
      const repairJob = Number(/job (\d+) does the undos/.exec(stderr)![1]);
      expect(await site.json<JobView & { opcodes: { type: string }[] }>('job', 'info', String(repairJob))).toMatchObject({ status: 'success', opcodes: [{ type: 'OP_NODE_REPAIR' }] });
    } finally {
      leader.kill('SIGTERM');
      await exited;
      delete site.env.OPL_REPAIR_INTERVAL_MS;
    }
  });

  it('drops it when the operator gives up on the node, which can then be removed', async () => {
    await failMidway('i2');
    const remove = await site.opl('node', 'remove', '-f', 'n1');
    expect(remove.code).toBe(1);
    expect(remove.stderr).toMatch(/node 'n1' owes 1 undo\(s\) of failed jobs: 'opl node repair n1' does them, or --give-up drops them/);
    await ok(site.opl('node', 'modify', 'n1', '--offline', 'yes'));
    const refused = await site.opl('node', 'repair', 'n1');
    expect(refused.stderr).toMatch(/node 'n1' is marked offline: mark it online once it answers \('opl node modify n1 --offline no'\), or drop the 1 undo\(s\) it owes with --give-up/);
    await ok(site.opl('node', 'repair', 'n1', '--give-up'));
    expect((await ok(site.opl('node', 'info', 'n1'))).stdout).toMatch(/^Undos owed: +none$/m);
    await ok(site.opl('node', 'remove', '-f', 'n1'));
  });
});
