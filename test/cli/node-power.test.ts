import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempRoot, type RunningNoded } from '../noded/cluster-pki.js';
import { joinNode } from './joined-node.js';
import { newSite, ok, recorded, type Site } from './opl.js';

/**
 * Fencing through Ganeti's oob programs, against the real `opl-noded` frozen by SIGSTOP
 * (it takes connections and answers none, as a host cut off does). The oob program is a
 * real one: its power-off SIGKILLs the daemon, its power-status says whether the daemon
 * lives. A failover from the silent node is refused without a program, fails whole when
 * the program fails, and with a working one powers the node off before the guest starts
 * on the target.
 */
interface NodeRow { name: string; offline: boolean; powered?: boolean; oobProgram?: string; oobProgramFrom?: string }
interface InstanceRow { name: string; primaryNode: string; status: string }

let site: Site;
let root: string;
let daemon: RunningNoded;
let tools: string;

const script = (name: string, body: string): string => {
  const path = join(tools, name);
  writeFileSync(path, `#!/bin/sh\necho "$@" >> ${join(tools, 'calls')}\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
};
const calls = () => (existsSync(join(tools, 'calls')) ? readFileSync(join(tools, 'calls'), 'utf8') : '');
const guestOnN2 = () => existsSync(join(site.dataDir, 'nodes', 'n2', 'fake-hv', 'i1.json'));
const views = async () => {
  const replay = await site.json<{ nodes: unknown; instances: unknown }>('audit', 'replay');
  return { nodes: replay.nodes, instances: replay.instances };
};
const clusterEvents = async () => (await site.json<{ stream: string; type: string }[]>('audit', 'log')).filter((e) => e.stream === 'cluster');
const daemonAlive = () => daemon.child.exitCode === null && daemon.child.signalCode === null;

beforeAll(async () => {
  site = newSite();
  root = tempRoot();
  tools = mkdtempSync(join(root, 'oob-'));
  await ok(site.opl('cluster', 'init', 'c1'));
  await ok(site.opl('group', 'add', 'g1'));
  ({ daemon } = await joinNode(site, root, 'n1'));
  writeFileSync(join(tools, 'pid'), String(daemon.child.pid));
  await ok(site.opl('node', 'add', 'n2', '--group', 'g1', '--memory', '4G', '--cpus', '4'));
  await ok(site.opl('instance', 'add', 'i1', '-t', 'diskless', '--memory', '256M', '--vcpus', '1', '-n', 'n1'));
}, 120_000);

afterAll(async () => {
  daemon?.child.kill('SIGCONT');
  await daemon?.stop();
  rmSync(root, { recursive: true, force: true });
  rmSync(site.dataDir, { recursive: true, force: true });
});

describe('a failover from a node that does not answer, fenced through its oob program', () => {
  it('is refused without an oob program, recording nothing, the guest left where it is', async () => {
    daemon.child.kill('SIGSTOP');
    const before = await clusterEvents();
    const refused = await site.opl('instance', 'failover', 'i1', '-n', 'n2');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/WARNING node n1, where i1 runs, does not answer: .*no answer within 5 s/);
    expect(refused.stderr).toMatch(/opl: job \d+ failed: node 'n1' does not answer and may still run 'i1': mark it offline once you know it is down \('opl node modify n1 --offline yes'\), give it an oob program that can power it off \(--node-parameters oob_program=PATH\), or fail over with --ignore-consistency \(wrong_state\)/);
    expect(await clusterEvents()).toEqual(before);
    expect(guestOnN2()).toBe(false);
  });

  it('fails whole when the program cannot power the node off: nothing moved, the node not marked', async () => {
    const broken = script('broken', `[ "$1" = power-off ] && { echo "BMC of $2 refused the command" >&2; exit 4; }; echo '{"powered": true}'`);
    await ok(site.opl('cluster', 'modify', '--node-parameters', `oob_program=${broken}`));
    const before = await views();
    const failed = await site.opl('instance', 'failover', 'i1', '-n', 'n2');
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(`* powering off node n1 through its oob program ${broken}`);
    expect(failed.stderr).toMatch(`failed: powering off node n1 through its oob program ${broken} failed: it exited 4: BMC of n1 refused the command (node_error)`);
    expect(await views()).toEqual(before);
    expect(guestOnN2()).toBe(false);
    expect(daemonAlive()).toBe(true);
  });

  it("with a node's own working program: the node is powered off, checked off, and only then the guest starts on the target", async () => {
    const bmc = script('bmc', `pid=$(cat ${join(tools, 'pid')})
case "$1" in
  power-off) kill -KILL "$pid" 2>/dev/null; exit 0 ;;
  power-status) [ -e ${join(tools, 'bmc-broken')} ] && { echo "no power-status here" >&2; exit 1; }; if kill -0 "$pid" 2>/dev/null; then echo '{"powered": true}'; else echo '{"powered": false}'; fi ;;
  *) echo "no $1 here" >&2; exit 1 ;;
esac`);
    await ok(site.opl('node', 'modify', 'n1', '--node-parameters', `oob_program=${bmc}`));
    expect((await site.json<NodeRow[]>('node', 'list')).find((n) => n.name === 'n1')).toMatchObject({ oobProgram: bmc, oobProgramFrom: 'node' });
    writeFileSync(join(tools, 'calls'), '');
    const moved = await ok(site.opl('instance', 'failover', 'i1', '-n', 'n2'));
    const lines = moved.stderr.split('\n');
    const at = (text: string) => lines.findIndex((l) => l.includes(text));
    expect(at(`powering off node n1 through its oob program ${bmc}`)).toBeGreaterThan(-1);
    expect(at(`checking through its oob program ${bmc} that node n1 is powered off`)).toBeGreaterThan(at('powering off node n1'));
    expect(at('starting instance i1 on node n2')).toBeGreaterThan(at('that node n1 is powered off'));
    expect(calls()).toBe('power-off n1\npower-status n1\n');
    expect(daemonAlive()).toBe(false);
    expect(guestOnN2()).toBe(true);
    expect((await site.json<InstanceRow[]>('instance', 'list')).find((i) => i.name === 'i1')).toMatchObject({ primaryNode: 'n2', status: 'running' });
    expect(recorded(await site.json<NodeRow[]>('node', 'list')).find((n) => n.name === 'n1')).toMatchObject({ offline: true, powered: false });
    const powered = (await clusterEvents()).filter((e) => e.type === 'NodePowered');
    expect(powered).toHaveLength(1);
  });

  it('keeps a powered-off node offline until it is powered on, and says its power through the program', async () => {
    const online = await site.opl('node', 'modify', 'n1', '--offline', 'no');
    expect(online.code).toBe(1);
    expect(online.stderr).toMatch("node 'n1' is powered off; power it on first ('opl node power on n1'), or say it is on with --node-powered yes (wrong_state)");
    const status = await ok(site.opl('node', 'power', 'status', 'n1'));
    expect(status.stdout).toMatch(/^n1\s+off$/m);
    const on = await site.opl('node', 'power', 'on', 'n1');
    expect(on.code).toBe(1);
    expect(on.stderr).toMatch('failed: powering on node n1 through its oob program');
    expect(on.stderr).toMatch('failed: it exited 1: no power-on here (node_error)');
    expect((await site.json<NodeRow[]>('node', 'list')).find((n) => n.name === 'n1')).toMatchObject({ offline: true, powered: false });
    // The program cannot power it on: the operator says it is on (Ganeti's --node-powered), and it may come back.
    await ok(site.opl('node', 'modify', 'n1', '--node-powered', 'yes'));
    expect((await site.json<NodeRow[]>('node', 'list')).find((n) => n.name === 'n1')).toMatchObject({ offline: true, powered: true });
  });

  it('asks every node for its power status and names each whose program fails', async () => {
    await ok(site.opl('node', 'modify', 'n2', '--node-parameters', `oob_program=${join(tools, 'broken')}`));
    await ok(site.opl('cluster', 'modify', '--node-parameters', 'oob_program='));
    writeFileSync(join(tools, 'bmc-broken'), '');
    const status = await site.opl('node', 'power', 'status', 'n2', 'n1');
    expect(status.code).toBe(1);
    expect(status.stderr).toMatch(/\* node n2 is powered on, says its oob program/);
    expect(status.stdout).toMatch(/^n2\s+on$/m);
    expect(status.stdout).toMatch(new RegExp(`^n1\\s+unknown: its oob program ${join(tools, 'bmc')}: it exited 1: no power-status here$`, 'm'));
    const json = await site.opl('node', 'power', 'status', 'n2', 'n1', '--output', 'json');
    expect(json.code).toBe(1);
    expect((JSON.parse(json.stdout) as { results: unknown[][] }).results[0]).toEqual([
      { node: 'n2', powered: true },
      { node: 'n1', powered: null, error: `its oob program ${join(tools, 'bmc')}: it exited 1: no power-status here` },
    ]);
  });

  it('refuses bad oob parameters on the command line, in one line, before any job', async () => {
    const before = await clusterEvents();
    const other = await site.opl('node', 'modify', 'n1', '--node-parameters', 'spindle_count=2');
    expect(other.code).toBe(2);
    expect(other.stderr).toBe("opl: node modify: --node-parameters 'spindle_count': not a node parameter opledger takes (it takes oob_program)\n");
    const relative = await site.opl('cluster', 'modify', '--node-parameters', 'oob_program=bin/power');
    expect(relative.code).toBe(2);
    expect(relative.stderr).toMatch(/^opl: cluster modify: --node-parameters oob_program.*must be an absolute path/);
    const none = await site.opl('node', 'power', 'status');
    expect(none.code).toBe(2);
    expect(none.stderr).toBe('opl: node power status: expected at least one NODE\n');
    expect(await clusterEvents()).toEqual(before);
  });
});
