import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, watch } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { newSite, ok, type Site } from './opl.js';

interface Job { id: number; status: string; opcodes: { status: string; attempts: number; log: { message: string }[] }[] }

const until = async (what: string, check: () => Promise<boolean>, seconds = 20) => {
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
};

/** Resolves once the child has printed TEXT on stderr: no polling interval, so no window to miss. */
const printed = (child: ChildProcess, text: string, seconds = 60) =>
  new Promise<void>((resolve, reject) => {
    let log = '';
    const onData = (c: Buffer) => {
      log += c.toString();
      if (log.includes(text)) finish(resolve);
    };
    const onExit = () => finish(() => reject(new Error(`exited before printing '${text}': ${log}`)));
    const timer = setTimeout(() => finish(() => reject(new Error(`timed out waiting for '${text}': ${log}`))), seconds * 1000);
    const finish = (settle: () => void) => {
      clearTimeout(timer);
      child.stderr!.off('data', onData);
      child.off('exit', onExit);
      settle();
    };
    child.stderr!.on('data', onData);
    child.on('exit', onExit);
  });

/** Resolves once FILE is in DIR (watched with inotify, so as soon as it is renamed there) or once EXITED settles. */
const appearsOrExits = (dir: string, file: string, exited: Promise<unknown>, seconds = 60) =>
  new Promise<void>((resolve, reject) => {
    let settled = false;
    const finish = (settle: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      watcher.close();
      settle();
    };
    const watcher = watch(dir, (_event, name) => {
      if (name === file) finish(resolve);
    });
    const timer = setTimeout(() => finish(() => reject(new Error(`timed out waiting for ${file} in ${dir}`))), seconds * 1000);
    void exited.then(() => finish(resolve));
    if (existsSync(join(dir, file))) finish(resolve);
  });

const smallCluster = async (site: Site) => {
  await ok(site.opl('cluster', 'init', 'c'));
  await ok(site.opl('group', 'add', 'g'));
  await ok(site.opl('node', 'add', 'n1', '--group', 'g', '--memory', '8G', '--cpus', '4'));
  await ok(site.opl('instance', 'add', 'web', '-t', 'diskless', '--memory', '1G', '--vcpus', '1', '-n', 'n1'));
};

describe('opl: crashes and the daemon', () => {
  it('a SIGKILLed engine mid-job: the next engine ends that job cleanly', async () => {
    const site = newSite();
    await smallCluster(site);
    const victim = site.spawn('debug', 'delay', '3', '--lock-instance', 'web');
    const victimExited = once(victim, 'exit');
    // The opcode's first log line: the job is running and its 3 s delay has just begun.
    await printed(victim, 'sleeping for 3s');
    victim.kill('SIGKILL');
    await victimExited;
    const orphan = (await site.json<Job[]>('job', 'list')).at(-1)!;
    expect(orphan.status).toBe('running');
    // The next command's engine finds the lease holder dead and finishes the orphan first.
    const next = await ok(site.opl('instance', 'stop', 'web'));
    expect(next.stderr).toContain('stopping instance web');
    const recovered = await site.json<Job>('job', 'info', String(orphan.id));
    expect(recovered.status).toBe('success');
    expect(recovered.opcodes[0]!.attempts).toBe(2);
    expect(recovered.opcodes[0]!.log.map((l) => l.message)).toContainEqual(expect.stringContaining('was lost; retrying'));
    expect((await site.json<Job[]>('job', 'list')).filter((j) => !['success'].includes(j.status))).toEqual([]);
  });

  it('a SIGKILLed engine while an instance starts: the instance ends up recorded exactly once', async () => {
    const site = newSite();
    await smallCluster(site);
    for (let attempt = 0; attempt < 5; attempt++) {
      const name = `fast${attempt}`;
      const child = site.spawn('instance', 'add', name, '-t', 'diskless', '--memory', '16', '--vcpus', '1', '-n', 'n1');
      const exited = once(child, 'exit');
      // The moment the instance runs on the hypervisor, while the engine records that (or just after).
      await appearsOrExits(join(site.dataDir, 'nodes', 'n1', 'fake-hv'), `${name}.json`, exited);
      child.kill('SIGKILL');
      await exited;
      // One crash at a time: a fresh engine finishes the orphan before the next victim starts, so
      // no victim is killed in the middle of recovering its predecessor's job.
      await ok(site.opl('debug', 'delay', '0'));
    }
    await ok(site.opl('instance', 'list'));
    await ok(site.opl('debug', 'delay', '0'));
    const jobs = await site.json<Job[]>('job', 'list');
    expect(jobs.filter((j) => !['success', 'error'].includes(j.status))).toEqual([]);
    const instances = await site.json<{ name: string; adminState: string }[]>('instance', 'list');
    const names = instances.map((i) => i.name);
    expect(new Set(names).size).toBe(names.length);
    const running = readdirSync(join(site.dataDir, 'nodes', 'n1', 'fake-hv')).map((f) => f.replace(/\.json$/, '')).sort();
    expect(running).toEqual(instances.filter((i) => i.adminState === 'up').map((i) => i.name).sort());
  });

  it('with a daemon running, --submit queues, job watch follows live, and job cancel stops a running job', async () => {
    const site = newSite();
    await smallCluster(site);
    const daemon = site.spawn('daemon');
    const daemonExited = once(daemon, 'exit');
    let daemonLog = '';
    daemon.stderr!.on('data', (c: Buffer) => (daemonLog += c.toString()));
    try {
      await until('the daemon to lead', async () => daemonLog.includes('leading'));
      const submitted = await ok(site.opl('instance', 'modify', 'web', '--tags', 'a,b', '--submit'));
      const id = submitted.stdout.trim();
      expect(id).toMatch(/^\d+$/);
      const watched = await ok(site.opl('job', 'watch', id));
      expect(watched.stdout).toMatch(/finished: success/);
      expect((await site.json<{ tags: string[] }>('instance', 'info', 'web')).tags).toEqual(['a', 'b']);

      const long = (await ok(site.opl('debug', 'delay', '60', '--submit'))).stdout.trim();
      await until('the long job to run', async () => (await site.json<Job>('job', 'info', long)).status === 'running');
      const cancel = await site.opl('job', 'cancel', long);
      expect(cancel.stdout).toBe(`job ${long} canceled\n`);
      expect((await site.json<Job>('job', 'info', long)).status).toBe('canceled');
      const again = await site.opl('job', 'cancel', long);
      expect(again.code).toBe(1);
      expect(again.stderr).toBe(`opl: job cancel: job ${long} has already finished (canceled)\n`);
    } finally {
      daemon.kill('SIGTERM');
      await daemonExited;
    }
    expect(daemonLog).toContain('stopped; running jobs finished, lease released');
    expect(existsSync(join(site.dataDir, 'opledger.sqlite'))).toBe(true);
  });
});
