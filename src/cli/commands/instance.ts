import * as E from 'fp-ts/lib/Either.js';
import { findInstance } from '../../domain/cluster-state.js';
import { parseDiskSpecs } from '../../domain/disk-spec.js';
import { mobilityDomain } from '../../domain/mobility.js';
import { OpInstanceCreate, OpInstanceGrowDisk, OpInstanceRename, OpInstanceSetParams, Opcode, type OpcodeOf } from '../../domain/opcodes.js';
import { DTS_PROVISIONED, isDiskTemplate } from '../../domain/templates.js';
import { instanceInfos } from '../../projections/read-models.js';
import { parseList, parseNumber, parseSize, positional, validated, type Parsed } from '../args.js';
import type { Command } from '../command.js';
import { json, keyValues, table } from '../render.js';
import { runJob, type Session } from '../session.js';
import { UsageError } from '../usage-error.js';
import { withSession } from './with-session.js';

const flags = { instanceName: 'NAME', diskTemplate: '-t', memoryMib: '--memory', vcpus: '--vcpus', primaryNode: '-n', tags: '--tags' };

type SimpleOpcode = 'OP_INSTANCE_REMOVE' | 'OP_INSTANCE_STARTUP' | 'OP_INSTANCE_SHUTDOWN' | 'OP_INSTANCE_ACTIVATE_DISKS' | 'OP_INSTANCE_DEACTIVATE_DISKS';

/** Ganeti's activate-disks answer: NODE:disk/N:DEVICE, one line a disk. */
const devicesOf = async (s: Session, name: string): Promise<string> => {
  const instance = instanceInfos(await s.views()).find((i) => i.name === name);
  return (instance?.disks ?? []).map((d) => `${instance!.primaryNode}:disk/${d.index}:${d.device ?? '-'}\n`).join('');
};

const simple = (verb: string, summary: string, type: SimpleOpcode): Command => ({
  path: ['instance', verb],
  usage: `opl instance ${verb} NAME`,
  summary,
  options: {},
  run: (parsed, io) => {
    const c = `instance ${verb}`;
    const [name] = positional(c, parsed, ['name']);
    const op = validated(c, Opcode, { type, instanceName: name }, flags);
    return withSession(c, parsed, io, async (s) => {
      const code = await runJob(s, c, parsed, [op]);
      if (code === 0 && type === 'OP_INSTANCE_ACTIVATE_DISKS' && !parsed.values.submit && s.format === 'table') io.out(await devicesOf(s, name!));
      return code;
    });
  },
});

export const instanceCommands: Command[] = [
  {
    path: ['instance', 'add'],
    usage: 'opl instance add NAME -t TEMPLATE|ext:POOL --memory SIZE --vcpus N [-n NODE | -I ALLOCATOR] [--disk N:size=SIZE[,pool=POOL][,param=value]...]... [--no-start] [--tags A,B]',
    summary: 'create an instance on a node',
    options: {
      'disk-template': { type: 'string', short: 't' },
      memory: { type: 'string', short: 'm' },
      vcpus: { type: 'string' },
      node: { type: 'string', short: 'n' },
      iallocator: { type: 'string', short: 'I' },
      'no-start': { type: 'boolean' },
      tags: { type: 'string' },
      disk: { type: 'string', multiple: true },
    },
    run: (parsed, io) => {
      const c = 'instance add';
      const [name] = positional(c, parsed, ['name']);
      const op = instanceCreateOpcode(c, name!, parsed);
      return withSession(c, parsed, io, (s) => runJob(s, c, parsed, [op]));
    },
  },
  simple('remove', 'remove an instance', 'OP_INSTANCE_REMOVE'),
  simple('start', 'start an instance', 'OP_INSTANCE_STARTUP'),
  simple('stop', 'stop an instance', 'OP_INSTANCE_SHUTDOWN'),
  simple('activate-disks', "attach an instance's disks on its node and print where they are", 'OP_INSTANCE_ACTIVATE_DISKS'),
  simple('deactivate-disks', "detach a stopped instance's disks", 'OP_INSTANCE_DEACTIVATE_DISKS'),
  {
    path: ['instance', 'modify'],
    usage: 'opl instance modify NAME [--memory SIZE] [--vcpus N] [--tags A,B]',
    summary: "change an instance's memory, vcpus or tags (--tags replaces the set)",
    options: { memory: { type: 'string', short: 'm' }, vcpus: { type: 'string' }, tags: { type: 'string' } },
    run: (parsed, io) => {
      const c = 'instance modify';
      const [name] = positional(c, parsed, ['name']);
      const op = validated(c, OpInstanceSetParams, {
        type: 'OP_INSTANCE_SET_PARAMS',
        instanceName: name,
        memoryMib: parseSize(c, '--memory', parsed.values.memory as string | undefined),
        vcpus: parseNumber(c, '--vcpus', parsed.values.vcpus as string | undefined),
        tags: parseList(parsed.values.tags as string | undefined),
      }, flags);
      return withSession(c, parsed, io, (s) => runJob(s, c, parsed, [op]));
    },
  },
  {
    path: ['instance', 'grow-disk'],
    usage: 'opl instance grow-disk NAME DISK AMOUNT [--absolute]',
    summary: "grow disk DISK by AMOUNT (Ganeti's meaning); with --absolute, to AMOUNT",
    options: { absolute: { type: 'boolean' } },
    run: (parsed, io) => {
      const c = 'instance grow-disk';
      const [name, disk, amount] = positional(c, parsed, ['name', 'disk', 'amount']);
      const op = validated(c, OpInstanceGrowDisk, {
        type: 'OP_INSTANCE_GROW_DISK',
        instanceName: name,
        diskIndex: parseNumber(c, 'DISK', disk),
        amountMib: parseSize(c, 'AMOUNT', amount),
        absolute: parsed.values.absolute ?? false,
      }, { ...flags, diskIndex: 'DISK', amountMib: 'AMOUNT' });
      return withSession(c, parsed, io, (s) => runJob(s, c, parsed, [op]));
    },
  },
  {
    path: ['instance', 'rename'],
    usage: 'opl instance rename OLD NEW',
    summary: 'rename a stopped instance, and the disks named after it',
    options: {},
    run: (parsed, io) => {
      const c = 'instance rename';
      const [from, to] = positional(c, parsed, ['old', 'new']);
      const op = validated(c, OpInstanceRename, { type: 'OP_INSTANCE_RENAME', instanceName: from, newName: to }, { instanceName: 'OLD', newName: 'NEW' });
      return withSession(c, parsed, io, (s) => runJob(s, c, parsed, [op]));
    },
  },
  ...(['migrate', 'failover'] as const).map((verb): Command => ({
    path: ['instance', verb],
    usage:
      verb === 'migrate'
        ? 'opl instance migrate NAME [-n NODE | -I ALLOCATOR] [--non-live] [--cleanup]   (neither: the cluster\'s default allocator)'
        : 'opl instance failover NAME [-n NODE | -I ALLOCATOR] [--ignore-consistency]   (neither: the cluster\'s default allocator)',
    summary:
      verb === 'migrate'
        ? 'move a running instance to NODE in its mobility domain, live unless --non-live'
        : 'move an instance to NODE, stopping it on its primary first (not waiting on an offline primary)',
    options: {
      node: { type: 'string', short: 'n' },
      iallocator: { type: 'string', short: 'I' },
      'non-live': { type: 'boolean' },
      cleanup: { type: 'boolean' },
      'ignore-consistency': { type: 'boolean' },
    },
    run: (parsed, io) => {
      const c = `instance ${verb}`;
      const [name] = positional(c, parsed, ['name']);
      if (verb === 'failover' && parsed.values.cleanup) throw new UsageError(`${c}: --cleanup is for migrate: 'opl instance migrate ${name} --cleanup'`);
      if (parsed.values.iallocator !== undefined && parsed.values.node !== undefined) {
        throw new UsageError(`${c}: give either -n NODE or -I ALLOCATOR, not both`);
      }
      const op = validated(c, Opcode, {
        type: verb === 'migrate' ? 'OP_INSTANCE_MIGRATE' : 'OP_INSTANCE_FAILOVER',
        instanceName: name,
        targetNode: parsed.values.node,
        iallocator: parsed.values.iallocator,
        ...(verb === 'migrate'
          ? { live: !parsed.values['non-live'], cleanup: parsed.values.cleanup ?? false }
          : { ignoreConsistency: parsed.values['ignore-consistency'] ?? false }),
      }, { ...flags, targetNode: '-n' });
      return withSession(c, parsed, io, (s) => runJob(s, c, parsed, [op]));
    },
  })),
  {
    path: ['instance', 'mobility'],
    usage: 'opl instance mobility NAME [--output json]',
    summary: 'list every node with whether the instance could move there, and why or why not',
    options: {},
    run: (parsed, io) => {
      const [name] = positional('instance mobility', parsed, ['name']);
      return withSession('instance mobility', parsed, io, async (s) => {
        const state = (await s.views()).cluster;
        const instance = findInstance(state, name!);
        if (!instance) {
          io.err(`opl: instance mobility: instance '${name}' does not exist\n`);
          return 1;
        }
        const domain = mobilityDomain(state, instance);
        io.out(s.format === 'json' ? json({ instance: instance.name, diskTemplate: instance.diskTemplate, nodes: domain }) : table(['Node', 'Group', 'Candidate', 'Reason'], domain.map((c) => [c.node, c.group, c.candidate ? 'yes' : 'no', c.reason])));
        return 0;
      });
    },
  },
  {
    path: ['instance', 'list'],
    usage: 'opl instance list [--output json]',
    summary: 'list instances',
    options: {},
    run: (parsed, io) => {
      positional('instance list', parsed, []);
      return withSession('instance list', parsed, io, async (s) => {
        const instances = instanceInfos(await s.views());
        io.out(
          s.format === 'json'
            ? json(instances)
            : table(
                ['Instance', 'Hypervisor', 'Template', 'Primary_node', 'Status', 'Memory', 'VCPUs'],
                instances.map((i) => [i.name, i.hypervisor, i.diskTemplate, i.primaryNode, i.adminState === 'up' ? 'running' : 'ADMIN_down', i.memory, i.vcpus]),
              ),
        );
        return 0;
      });
    },
  },
  {
    path: ['instance', 'info'],
    usage: 'opl instance info NAME [--output json]',
    summary: 'show one instance',
    options: {},
    run: (parsed, io) => {
      const [name] = positional('instance info', parsed, ['name']);
      return withSession('instance info', parsed, io, async (s) => {
        const instance = instanceInfos(await s.views()).find((i) => i.name === name);
        if (!instance) {
          io.err(`opl: instance info: instance '${name}' does not exist\n`);
          return 1;
        }
        io.out(
          s.format === 'json'
            ? json(instance)
            : keyValues([
                ['Instance name', instance.name],
                ['UUID', instance.uuid],
                ['State', instance.adminState],
                ['Disk template', instance.diskTemplate],
                ['Primary node', instance.primaryNode],
                ['Secondary nodes', instance.secondaryNodes],
                ['Hypervisor', instance.hypervisor],
                ['Memory (MiB)', instance.memory],
                ['VCPUs', instance.vcpus],
                ['Disks', instance.disks.length === 0 ? '(none)' : instance.disks.length],
                ['Tags', instance.tags],
              ]) + instance.disks.map((d) => `  disk/${d.index}: ${d.size} MiB, ${d.adopted ? 'adopted ' : ''}${d.logicalId}${d.pool ? ` (pool ${d.pool})` : ''}\n`).join(''),
        );
        return 0;
      });
    },
  },
];

/** An OP_INSTANCE_CREATE from `instance add`'s arguments (also `iallocator request allocate`). */
export const instanceCreateOpcode = (c: string, name: string, parsed: Parsed): OpcodeOf<'OP_INSTANCE_CREATE'> => {
  const templateArg = parsed.values['disk-template'] as string | undefined;
  // Ganeti's `-t ext:POOL`: the pool every disk goes to unless it names its own.
  const [template, defaultPool] = templateArg?.startsWith('ext:') ? ['ext', templateArg.slice(4)] : [templateArg, undefined];
  if (template === undefined) throw new UsageError(`${c}: -t TEMPLATE is required (this engine provisions: ${[...DTS_PROVISIONED].join(', ')})`);
  if (!isDiskTemplate(template)) {
    throw new UsageError(`${c}: -t '${template}': unknown disk template; expected one of diskless, file, plain, drbd, sharedfile, blockdev, ext`);
  }
  if (parsed.values.node !== undefined && parsed.values.iallocator !== undefined) {
    throw new UsageError(`${c}: give the node with -n NODE or an allocator with -I ALLOCATOR, not both (neither: the cluster's default allocator places it)`);
  }
  const disks = parseDiskSpecs((parsed.values.disk as string[] | undefined) ?? []);
  if (E.isLeft(disks)) throw new UsageError(`${c}: ${disks.left}`);
  return validated(c, OpInstanceCreate, {
    type: 'OP_INSTANCE_CREATE',
    disks: disks.right.map(({ index: _index, ...spec }) => ({ ...(defaultPool !== undefined && { pool: defaultPool }), ...spec })),
    instanceName: name,
    diskTemplate: template,
    memoryMib: parseSize(c, '--memory', parsed.values.memory as string | undefined),
    vcpus: parseNumber(c, '--vcpus', parsed.values.vcpus as string | undefined),
    primaryNode: parsed.values.node,
    iallocator: parsed.values.iallocator,
    start: !parsed.values['no-start'],
    tags: parseList(parsed.values.tags as string | undefined),
  }, flags);
};
