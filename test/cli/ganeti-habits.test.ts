import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { newSite, ok, OPL, type Result, type Site } from './opl.js';

interface Instance { name: string; adminState: string; memory: number }
interface Node { name: string; memoryTotal: number; memoryFree: number }

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** A POSIX shell word. */
const sh = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`;

/**
 * Runs opl on a pseudo-terminal (util-linux `script`), typing `answer` to it: the only
 * way to see what an operator at a terminal sees when a command asks first.
 */
const onTerminal = (site: Site, answer: string, ...args: string[]) =>
  new Promise<Result>((resolve, reject) => {
    const line = [process.execPath, OPL, ...args].map(sh).join(' ');
    const child = spawn('script', ['-qec', line, '/dev/null'], { env: site.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    child.stdin.end(`${answer}\n`);
  });

const jobCount = async (site: Site) => (await site.json<unknown[]>('job', 'list')).length;

const oneLine = (r: Result) => {
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).not.toMatch(/\n\s+at /);
};

describe("opl behaves as an operator used to Ganeti's gnt-* tools expects", () => {
  let site: Site;
  beforeAll(async () => {
    site = newSite();
    await ok(site.opl('cluster', 'init', 'habits'));
    await ok(site.opl('group', 'add', 'g1'));
    await ok(site.opl('node', 'add', 'n1', '--group', 'g1', '--memory', '2G', '--cpus', '4'));
    await ok(site.opl('node', 'add', 'n2', '--group', 'g1', '--memory', '1536G', '--cpus', '4'));
    await ok(site.opl('instance', 'add', 'i1', '-t', 'diskless', '--memory', '512', '--vcpus', '1', '-n', 'n1'));
  }, 180_000);

  it('takes the global options before, between and after the command words', async () => {
    // Not in the environment, so only --data-dir can find this cluster.
    const elsewhere = newSite();
    delete elsewhere.env.OPL_DATA_DIR;
    elsewhere.env.XDG_DATA_HOME = mkdtempSync(join(tmpdir(), 'opl-elsewhere-'));
    for (const args of [
      ['--data-dir', site.dataDir, 'job', 'list', '--output', 'json'],
      ['job', '--data-dir', site.dataDir, 'list', '--output=json'],
      ['--output', 'json', 'job', 'list', `--data-dir=${site.dataDir}`],
    ]) {
      const r = await ok(elsewhere.opl(...args));
      expect((JSON.parse(r.stdout) as { status: string }[]).length).toBeGreaterThanOrEqual(5);
    }
  });

  it('answers OBJECT --help and --version with exit status 0', async () => {
    const help = await ok(site.opl('instance', '--help'));
    expect(help.stdout).toContain('opl instance add NAME');
    expect(help.stdout).toContain('opl instance remove NAME [-f]');
    expect(help.stdout).not.toContain('opl node add');
    const storage = await ok(site.opl('storage', 'pool', '--help'));
    expect(storage.stdout).toContain('opl storage pool list');
    expect((await ok(site.opl('--version'))).stdout).toBe(`opl ${VERSION}\n`);
  });

  it('takes startup and shutdown for start and stop', async () => {
    await ok(site.opl('instance', 'shutdown', 'i1'));
    expect((await site.json<Instance>('instance', 'info', 'i1')).adminState).toBe('down');
    await ok(site.opl('instance', 'startup', 'i1'));
    expect((await site.json<Instance>('instance', 'info', 'i1')).adminState).toBe('up');
  });

  it('lists the fields -o names, with --no-headers and --separator, and +FIELD adds to the defaults', async () => {
    const chosen = await ok(site.opl('instance', 'list', '-o', 'name,status,oper_ram', '--no-headers', '--separator=,'));
    expect(chosen.stdout).toBe('i1,running,512\n'); // a separator means a program reads it: MiB, as Ganeti does
    const added = await ok(site.opl('instance', 'list', '-o', '+oper_ram'));
    expect(added.stdout.split('\n')[0]).toMatch(/^Instance\s+Hypervisor\s+Template\s+Primary_node\s+Status\s+Memory\s+VCPUs\s+Oper_ram$/);
    const unknown = await site.opl('instance', 'list', '-o', 'name,colour');
    expect(unknown.code).toBe(2);
    oneLine(unknown);
    expect(unknown.stderr).toMatch(/^opl: instance list: unknown field 'colour'; known fields: name, uuid, .*oper_ram/);
  });

  it('shows sizes scaled in tables, in --units when asked, and in MiB in JSON', async () => {
    const scaled = await ok(site.opl('node', 'list', '-o', 'name,mtotal,mfree'));
    expect(scaled.stdout).toMatch(/^n1\s+2\.0G\s+1\.5G$/m);
    expect(scaled.stdout).toMatch(/^n2\s+1\.5T\s+1\.5T$/m);
    expect((await ok(site.opl('instance', 'list'))).stdout).toMatch(/^i1\s+fake\s+diskless\s+n1\s+running\s+512M\s+1$/m);
    expect((await ok(site.opl('node', 'list', '-o', 'name,mtotal', '--units', 'm', '--no-headers'))).stdout).toMatch(/^n1\s+2048$/m);
    expect((await ok(site.opl('node', 'list', '-o', 'name,mtotal', '--units', 'g', '--no-headers'))).stdout).toMatch(/^n1\s+2\.0$/m);
    const nodes = await site.json<Node[]>('node', 'list', '-o', 'name', '--units', 't');
    expect(nodes.find((n) => n.name === 'n1')).toMatchObject({ memoryTotal: 2048, memoryFree: 1536 });
  });

  it('refuses an option that takes one value given twice, submitting nothing', async () => {
    const before = await jobCount(site);
    const r = await site.opl('instance', 'add', 'x', '-t', 'diskless', '--memory', '1G', '--memory', '2G', '--vcpus', '1', '-n', 'n1');
    expect(r.code).toBe(2);
    oneLine(r);
    expect(r.stderr).toBe("opl: instance add: --memory is given twice ('1G' and '2G'); give it once\n");
    expect(await jobCount(site)).toBe(before);
  });

  it('says what is wrong in its own words: no zod wording, no [object Object], no raw control characters', async () => {
    const cases: [string[], RegExp][] = [
      [['cluster', 'modify', '--vcpu-ratio=-1'], /^opl: cluster modify: --vcpu-ratio '-1': must be positive\n$/],
      [['cluster', 'modify', '--add-pool', 'p1', 'filepool', '--pool-param', 'Dir=/x'], /^opl: cluster modify: --pool-param 'Dir': a pool parameter name is lower-case/],
      [['instance', 'modify', 'i1', '--vcpus', '1.5'], /^opl: instance modify: --vcpus '1.5': must be a whole number\n$/],
      [['group', 'add', 'evil\u001b[31mred'], /^opl: group add: NAME 'evil\\x1b\[31mred': must start with a letter or digit/],
      [['job', 'info', 'x\u0007'], /^opl: job info: 'x\\x07' is not a job id/],
    ];
    for (const [args, message] of cases) {
      const r = await site.opl(...args);
      expect(r.code).toBe(2);
      oneLine(r);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/Too small|Invalid input|expected number|\[object Object\]/);
      expect(r.stderr).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f]/); // only the final newline
    }
  });

  it('refuses to remove without -f when there is no terminal to ask on, and removes with it', async () => {
    await ok(site.opl('instance', 'add', 'doomed', '-t', 'diskless', '--memory', '128', '--vcpus', '1', '-n', 'n2'));
    const before = await jobCount(site);
    for (const args of [['instance', 'remove', 'doomed'], ['node', 'remove', 'n2']]) {
      const r = await site.opl(...args);
      expect(r.code).toBe(2);
      oneLine(r);
      expect(r.stderr).toBe(`opl: ${args[0]} remove: not confirmed and there is no terminal to ask on; add -f (--force) to go ahead\n`);
    }
    expect(await jobCount(site)).toBe(before);
    await ok(site.opl('instance', 'remove', 'doomed', '-f'));
    await ok(site.opl('node', 'remove', 'n2', '--force'));
    expect((await site.json<Node[]>('node', 'list')).map((n) => n.name)).toEqual(['n1']);
  }, 120_000);

  it('asks [y/N] on a terminal: no keeps the instance, y removes it', async () => {
    await ok(site.opl('instance', 'add', 'asked', '-t', 'diskless', '--memory', '128', '--vcpus', '1', '-n', 'n1'));
    const no = await onTerminal(site, 'n', 'instance', 'remove', 'asked');
    expect(no.stdout).toContain("Remove instance 'asked' and its disks? This cannot be undone. [y/N]");
    expect(no.stdout).toContain('not confirmed; nothing done');
    expect(no.code).toBe(1);
    expect((await site.json<Instance[]>('instance', 'list')).map((i) => i.name)).toContain('asked');
    const yes = await onTerminal(site, 'y', 'instance', 'remove', 'asked');
    expect(yes.code).toBe(0);
    expect((await site.json<Instance[]>('instance', 'list')).map((i) => i.name)).not.toContain('asked');
  }, 120_000);
});

