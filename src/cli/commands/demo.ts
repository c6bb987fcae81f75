import { existsSync, lstatSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineCommand } from '../command.js';
import type { Io } from '../session.js';
import { UsageError } from '../usage-error.js';

/** Left in every data dir the demo makes: only such a dir is emptied again by the next demo. */
export const DEMO_MARKER = '.opl-demo';

/**
 * The marker proves the demo made DIR only if this user made it: anyone who can write
 * into a shared directory (/tmp, a group's share) could plant one there and have the
 * next `opl demo --data-dir` there empty it of other people's files.
 */
const refuseForeignMarker = (dir: string): void => {
  const uid = process.getuid?.();
  const marker = lstatSync(join(dir, DEMO_MARKER));
  const foreign = !marker.isFile() ? `its ${DEMO_MARKER} is not a plain file` : uid !== undefined && marker.uid !== uid ? `its ${DEMO_MARKER} belongs to uid ${marker.uid}` : undefined;
  if (foreign) throw new UsageError(`demo: --data-dir ${dir} was not made by 'opl demo' run by this user (${foreign}): give a new or empty directory`);
};

/**
 * Makes DIR ready for a fresh demo. A dir the demo made before (it holds the marker)
 * is emptied — its contents, not the dir itself; an empty dir is used; anything else
 * is refused: `--data-dir ~` must never cost anyone their home directory.
 */
const prepareDemoDir = (dir: string): void => {
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) throw new UsageError(`demo: --data-dir ${dir} is not a directory`);
    const entries = readdirSync(dir);
    if (entries.length > 0 && !entries.includes(DEMO_MARKER)) {
      throw new UsageError(`demo: --data-dir ${dir} is not empty and was not made by 'opl demo' (no ${DEMO_MARKER} in it): give a new or empty directory`);
    }
    if (entries.length > 0) refuseForeignMarker(dir);
    for (const entry of entries) rmSync(join(dir, entry), { recursive: true, force: true });
  }
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, DEMO_MARKER), 'made by opl demo: the next opl demo with this --data-dir empties this directory\n');
};

/**
 * The guided tour: builds a small cluster in a fresh data dir and shows what the log
 * keeps. Neither an opcode nor a view: it runs other commands, so it uses the core.
 */
export const demoCommand = defineCommand(
  {
    path: ['demo'],
    args: [],
    usage: '[--data-dir DIR]',
    summary: 'build a small cluster in a fresh data dir (default ./opl-demo) and show its jobs and history',
  },
  async ({ values }, io) => {
    const { main } = await import('../main.js');
    const dataDir = resolve(values['data-dir'] ?? 'opl-demo');
    prepareDemoDir(dataDir);
    // The bundle is dist/opl.mjs; the reference drivers are in examples/ beside dist/.
    const drivers = fileURLToPath(new URL('../examples/drivers', import.meta.url));
    const driverPath = [drivers, io.env.OPL_STORAGE_DRIVER_PATH].filter(Boolean).join(':');
    const quiet: Io = { ...io, env: { ...io.env, OPL_DATA_DIR: dataDir, OPL_STORAGE_DRIVER_PATH: driverPath } };
    const step = async (note: string, args: string[], expectFailure = false): Promise<void> => {
      io.out(`${note ? `\n# ${note}\n` : ''}$ opl ${args.join(' ')}\n`);
      const code = await main([...args, '--data-dir', dataDir], quiet);
      if ((code !== 0) !== expectFailure) throw new Error(`demo step failed: opl ${args.join(' ')} (exit ${code})`);
    };
    const shared = join(dataDir, 'shared-storage');
    const nas = join(dataDir, 'nas1-volumes');
    mkdirSync(shared, { recursive: true });
    await step('Create the cluster: its first event. Disks may live on a shared file system mounted at the same path on every node', ['cluster', 'init', 'demo-cluster', '--shared-file-storage-dir', shared]);
    await step('Two node groups, three nodes each', ['group', 'add', 'rack-a']);
    await step('', ['group', 'add', 'rack-b']);
    for (const [i, group] of [[1, 'rack-a'], [2, 'rack-a'], [3, 'rack-a'], [4, 'rack-b'], [5, 'rack-b'], [6, 'rack-b']] as const) {
      await step(i === 1 ? 'Nodes with their capacity' : '', ['node', 'add', `node${i}`, '--group', group, '--memory', '8G', '--cpus', '4']);
    }
    await step('Instances on the fake hypervisor', ['instance', 'add', 'web1', '-t', 'diskless', '--memory', '2G', '--vcpus', '2', '-n', 'node1']);
    await step('', ['instance', 'add', 'web2', '-t', 'diskless', '--memory', '2G', '--vcpus', '2', '-n', 'node4', '--tags', 'web']);
    await step('', ['instance', 'add', 'db1', '-t', 'diskless', '--memory', '4G', '--vcpus', '4', '-n', 'node2', '--no-start']);
    await step('Too big for node1: refused, recorded as refused, nothing changes', ['instance', 'add', 'huge', '-t', 'diskless', '--memory', '7G', '--vcpus', '1', '-n', 'node1'], true);
    await step('A sharedfile instance: its disk is a sparse file under the shared mountpoint', ['instance', 'add', 'files1', '-t', 'sharedfile', '--memory', '1G', '--vcpus', '1', '-n', 'node2', '--disk', '0:size=2G']);
    await step('A storage pool backed by the filepool reference driver, reachable from rack-b', ['cluster', 'modify', '--add-pool', 'nas1', 'filepool', '--pool-param', `dir=${nas}`]);
    await step('', ['group', 'modify', 'rack-b', '--connect-pool', 'nas1']);
    await step('A pool-backed instance: the driver creates its disk and names it', ['instance', 'add', 'app1', '-t', 'ext:nas1', '--memory', '1G', '--vcpus', '1', '-n', 'node5', '--disk', '0:size=1G']);
    await step('Grow a disk by an amount, as Ganeti does', ['instance', 'grow-disk', 'app1', '0', '512M']);
    await step('No node given: the built-in allocator (opl-ialloc) places it, scoring as Ganeti\'s htools do', ['instance', 'add', 'app2', '-t', 'ext:nas1', '--memory', '1G', '--vcpus', '1', '--disk', '0:size=256M']);
    await step('Move it live to wherever the allocator says, step by recorded step', ['instance', 'migrate', 'app2']);
    await step('', ['storage', 'pool', 'list']);
    await step('Change an instance, stop one, drain a node', ['instance', 'modify', 'web1', '--tags', 'web,frontend']);
    await step('', ['instance', 'stop', 'web2']);
    await step('', ['node', 'modify', 'node3', '--drained', 'yes']);
    await step('Remove one: -f answers the [y/N] question Ganeti asks first', ['instance', 'remove', 'db1', '-f']);
    await step('The cluster now; sizes scaled as Ganeti shows them (--units m for MiB)', ['node', 'list']);
    await step('', ['instance', 'list']);
    await step("Ganeti's -o picks the fields; +FIELD adds to the default ones", ['instance', 'list', '-o', 'name,pnode,status,oper_ram', '--no-headers', '--separator', ' | ']);
    await step('Every job, who submitted it, how it ended', ['job', 'list']);
    await step("An instance's history from the log, with every storage driver call", ['audit', 'log', '--instance', 'app1']);
    await step('The cluster as it was after its first 60 events', ['audit', 'replay', '--until-position', '60']);
    io.out(`\nThe log and the local nodes are in ${dataDir}; try: OPL_DATA_DIR=${dataDir} OPL_STORAGE_DRIVER_PATH=${drivers} node bin/opl.js instance info app1\n`);
    return 0;
  },
);
