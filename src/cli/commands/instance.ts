import * as E from 'fp-ts/lib/Either.js';
import { parseDiskSpecs } from '../../domain/disk-spec.js';
import { checkHvParams, parseHypervisorOption, parseParamList } from '../../domain/hv-params.js';
import { HYPERVISORS, type HypervisorName } from '../../domain/hypervisors.js';
import {
  OpInstanceActivateDisks,
  OpInstanceCreate,
  OpInstanceDeactivateDisks,
  OpInstanceFailover,
  OpInstanceGrowDisk,
  OpInstanceMigrate,
  OpInstanceRemove,
  OpInstanceRename,
  OpInstanceSetParams,
  OpInstanceReboot,
  OpInstanceShutdown,
  OpInstanceStartup,
} from '../../domain/opcodes.js';
import { DTS_PROVISIONED, isDiskTemplate } from '../../domain/templates.js';
import { instanceInfos } from '../../projections/read-models.js';
import type { Command, Ctx } from '../command.js';
import { opcodeCommand, type OpcodeSchema } from '../opcode-command.js';
import type { Session } from '../session.js';
import { quote } from '../text.js';
import { instanceConsole } from './instance-console.js';
import { instanceViews } from './instance-views.js';

const flags = { instanceName: 'NAME', diskTemplate: '-t', memoryMib: '--memory', vcpus: '--vcpus', primaryNode: '-n', targetNode: '-n', iallocator: '-I', tags: '--tags', disks: '--disk' };

/** Ganeti's activate-disks answer: NODE:disk/N:DEVICE, one line a disk. */
const devicesOf = async (s: Session, name: string): Promise<string> => {
  const instance = instanceInfos(await s.views()).find((i) => i.name === name);
  return (instance?.disks ?? []).map((d) => `${instance!.primaryNode}:disk/${d.index}:${d.device ?? '-'}\n`).join('');
};

/**
 * Ganeti's `-H NAME[:PARAM=VALUE,...]` (the cluster's default hypervisor when not given):
 * checked here against what that hypervisor takes, so a wrong one is refused before any job.
 */
const hypervisorOf = (ctx: { values: { hypervisor?: string | undefined }; fail: (message: string) => never }) => {
  const given = ctx.values.hypervisor;
  if (given === undefined) return {};
  const parsed = parseHypervisorOption(given);
  if (E.isLeft(parsed)) return ctx.fail(`-H ${quote(given)}: ${parsed.left}`);
  const { name, params } = parsed.right;
  if (!(HYPERVISORS as readonly string[]).includes(name)) return ctx.fail(`-H ${quote(given)}: no hypervisor is named ${quote(name)} (expected ${HYPERVISORS.join(' or ')})`);
  const checked = checkHvParams(name as HypervisorName, params);
  if (E.isLeft(checked)) return ctx.fail(`-H ${quote(given)}: ${checked.left}`);
  return { hypervisor: name, hypervisorParams: checked.right };
};

/** A command whose opcode names just the instance. */
const simple = (verb: string, summary: string, schema: OpcodeSchema, more: { aliases?: string[]; after?: boolean } = {}): Command =>
  opcodeCommand({
    path: ['instance', verb],
    args: ['name'],
    summary,
    schema,
    flags,
    opcode: ({ args: [name] }) => ({ instanceName: name }),
    ...(more.aliases && { aliases: more.aliases }),
    ...(more.after && { after: (s: Session, { args: [name] }: Ctx<{}, readonly ['name']>) => devicesOf(s, name) }),
  });

/** The options `instance add` and `iallocator request allocate` share. */
export const CREATE_OPTIONS = {
  'disk-template': { type: 'string', short: 't' },
  memory: { type: 'string', short: 'm' },
  vcpus: { type: 'string' },
  disk: { type: 'string', multiple: true },
} as const;

/** The values an OP_INSTANCE_CREATE is built from; `iallocator request allocate` has no node, allocator, tags or --no-start. */
interface CreateValues {
  'disk-template'?: string | undefined;
  memory?: string | undefined;
  vcpus?: string | undefined;
  disk?: string[] | undefined;
  node?: string | undefined;
  iallocator?: string | undefined;
  'no-start'?: boolean | undefined;
  tags?: string | undefined;
}

/** OP_INSTANCE_CREATE's fields from `instance add`'s arguments (also `iallocator request allocate`). */
export const createFields = (ctx: Pick<Ctx<{}, []>, 'fail' | 'size' | 'number' | 'list'> & { values: CreateValues }) => {
  const { values, size, number, list } = ctx;
  const templateArg = values['disk-template'];
  // Ganeti's `-t ext:POOL`: the pool every disk goes to unless it names its own.
  const [template, defaultPool] = templateArg?.startsWith('ext:') ? ['ext', templateArg.slice(4)] : [templateArg, undefined];
  if (template === undefined) ctx.fail(`-t TEMPLATE is required (this engine provisions: ${[...DTS_PROVISIONED].join(', ')})`);
  if (!isDiskTemplate(template)) ctx.fail(`-t ${quote(template)}: unknown disk template; expected one of diskless, file, plain, drbd, sharedfile, blockdev, ext`);
  if (values.node !== undefined && values.iallocator !== undefined) {
    ctx.fail("give the node with -n NODE or an allocator with -I ALLOCATOR, not both (neither: the cluster's default allocator places it)");
  }
  const disks = parseDiskSpecs(values.disk ?? []);
  if (E.isLeft(disks)) ctx.fail(disks.left);
  return {
    disks: disks.right.map(({ index: _index, ...spec }) => ({ ...(defaultPool !== undefined && { pool: defaultPool }), ...spec })),
    diskTemplate: template,
    memoryMib: size('--memory', values.memory),
    vcpus: number('--vcpus', values.vcpus),
    primaryNode: values.node,
    iallocator: values.iallocator,
    start: !values['no-start'],
    tags: list(values.tags),
  };
};

const move = (verb: 'migrate' | 'failover', ctx: Ctx<{ node: { type: 'string' }; iallocator: { type: 'string' } }, readonly ['name']>) => {
  if (ctx.values.iallocator !== undefined && ctx.values.node !== undefined) ctx.fail('give either -n NODE or -I ALLOCATOR, not both');
  return { instanceName: ctx.args[0], targetNode: ctx.values.node, iallocator: ctx.values.iallocator };
};
const MOVE_OPTIONS = { node: { type: 'string', short: 'n' }, iallocator: { type: 'string', short: 'I' } } as const;

export const instanceCommands: Command[] = [
  opcodeCommand({
    path: ['instance', 'add'],
    args: ['name'],
    usage: '-t TEMPLATE|ext:POOL --memory SIZE --vcpus N [-n NODE | -I ALLOCATOR] [-H fake|kvm[:kernel_path=PATH,initrd_path=PATH,kernel_args=ARGS,boot_order=disk]] [--disk N:size=SIZE[,pool=POOL][,param=value]...]... [--no-start] [--tags A,B]',
    summary: 'create an instance on a node',
    options: { ...CREATE_OPTIONS, ...MOVE_OPTIONS, hypervisor: { type: 'string', short: 'H' }, 'no-start': { type: 'boolean' }, tags: { type: 'string' } },
    schema: OpInstanceCreate,
    flags: { ...flags, hypervisor: '-H' },
    opcode: (ctx) => ({ instanceName: ctx.args[0], ...createFields(ctx), ...hypervisorOf(ctx) }),
  }),
  opcodeCommand({
    path: ['instance', 'remove'],
    args: ['name'],
    usage: '[-f] [--shutdown-timeout SECONDS]',
    summary: 'remove an instance and its disks (asks first, unless -f); a running one is stopped first',
    options: { 'shutdown-timeout': { type: 'string' } },
    schema: OpInstanceRemove,
    flags: { ...flags, shutdownTimeoutSeconds: '--shutdown-timeout' },
    confirm: ({ args: [name] }) => `Remove instance ${quote(name)} and its disks? This cannot be undone.`,
    opcode: ({ args: [name], values, number }) => ({ instanceName: name, shutdownTimeoutSeconds: number('--shutdown-timeout', values['shutdown-timeout']) }),
  }),
  simple('start', 'start an instance', OpInstanceStartup, { aliases: ['startup'] }),
  opcodeCommand({
    path: ['instance', 'stop'],
    aliases: ['shutdown'],
    args: ['name'],
    usage: '[--timeout SECONDS]',
    summary: 'stop an instance: its ACPI power button, then ended after --timeout seconds (0: at once; default the node\'s, 120)',
    options: { timeout: { type: 'string' } },
    schema: OpInstanceShutdown,
    flags: { ...flags, timeoutSeconds: '--timeout' },
    opcode: ({ args: [name], values, number }) => ({ instanceName: name, timeoutSeconds: number('--timeout', values.timeout) }),
  }),
  opcodeCommand({
    path: ['instance', 'reboot'],
    args: ['name'],
    usage: '[--type soft|hard|full] [--shutdown-timeout SECONDS]',
    summary: 'stop an instance on its node and start it there again; --type full also detaches and attaches its disks between (soft is hard, as on Ganeti\'s kvm)',
    options: { type: { type: 'string' }, 'shutdown-timeout': { type: 'string' } },
    schema: OpInstanceReboot,
    flags: { ...flags, rebootType: '--type', shutdownTimeoutSeconds: '--shutdown-timeout' },
    opcode: ({ args: [name], values, number }) => ({ instanceName: name, rebootType: values.type, shutdownTimeoutSeconds: number('--shutdown-timeout', values['shutdown-timeout']) }),
  }),
  simple('activate-disks', "attach an instance's disks on its node and print where they are", OpInstanceActivateDisks, { after: true }),
  simple('deactivate-disks', "detach a stopped instance's disks", OpInstanceDeactivateDisks),
  opcodeCommand({
    path: ['instance', 'modify'],
    args: ['name'],
    usage: '[--memory SIZE] [--vcpus N] [--tags A,B] [-H PARAM=VALUE,...]',
    summary: "change an instance's memory, vcpus, tags (--tags replaces the set) or hypervisor parameters (-H, PARAM=default drops one; taken at its next start)",
    options: { memory: { type: 'string', short: 'm' }, vcpus: { type: 'string' }, tags: { type: 'string' }, hypervisor: { type: 'string', short: 'H' } },
    schema: OpInstanceSetParams,
    flags: { ...flags, hypervisorParams: '-H' },
    opcode: ({ args: [name], values, size, number, list, fail }) => {
      const hv = values.hypervisor === undefined ? undefined : parseParamList(values.hypervisor);
      if (hv && E.isLeft(hv)) return fail(`-H ${quote(values.hypervisor!)}: ${hv.left}`);
      return {
        instanceName: name,
        memoryMib: size('--memory', values.memory),
        vcpus: number('--vcpus', values.vcpus),
        tags: list(values.tags),
        ...(hv && { hypervisorParams: hv.right }),
      };
    },
  }),
  opcodeCommand({
    path: ['instance', 'grow-disk'],
    args: ['name', 'disk', 'amount'],
    usage: '[--absolute]',
    summary: "grow disk DISK by AMOUNT (Ganeti's meaning); with --absolute, to AMOUNT",
    options: { absolute: { type: 'boolean' } },
    schema: OpInstanceGrowDisk,
    flags: { ...flags, diskIndex: 'DISK', amountMib: 'AMOUNT' },
    opcode: ({ args: [name, disk, amount], values, size, number }) => ({
      instanceName: name,
      diskIndex: number('DISK', disk),
      amountMib: size('AMOUNT', amount),
      absolute: values.absolute ?? false,
    }),
  }),
  opcodeCommand({
    path: ['instance', 'rename'],
    args: ['old', 'new'],
    summary: 'rename a stopped instance, and the disks named after it',
    schema: OpInstanceRename,
    flags: { instanceName: 'OLD', newName: 'NEW' },
    opcode: ({ args: [from, to] }) => ({ instanceName: from, newName: to }),
  }),
  opcodeCommand({
    path: ['instance', 'migrate'],
    args: ['name'],
    usage: "[-n NODE | -I ALLOCATOR] [--non-live] [--cleanup]   (neither: the cluster's default allocator)",
    summary: 'move a running instance to NODE in its mobility domain, live unless --non-live',
    options: { ...MOVE_OPTIONS, 'non-live': { type: 'boolean' }, cleanup: { type: 'boolean' } },
    schema: OpInstanceMigrate,
    flags,
    opcode: (ctx) => ({ ...move('migrate', ctx), live: !ctx.values['non-live'], cleanup: ctx.values.cleanup ?? false }),
  }),
  opcodeCommand({
    path: ['instance', 'failover'],
    args: ['name'],
    usage: "[-n NODE | -I ALLOCATOR] [--ignore-consistency] [--shutdown-timeout SECONDS]   (neither: the cluster's default allocator)",
    summary: 'move an instance to NODE, stopping it on its primary first (not waiting on an offline primary)',
    options: { ...MOVE_OPTIONS, 'ignore-consistency': { type: 'boolean' }, cleanup: { type: 'boolean' }, 'shutdown-timeout': { type: 'string' } },
    schema: OpInstanceFailover,
    flags: { ...flags, shutdownTimeoutSeconds: '--shutdown-timeout' },
    opcode: (ctx) => {
      if (ctx.values.cleanup) ctx.fail(`--cleanup is for migrate: 'opl instance migrate ${ctx.args[0]} --cleanup'`);
      return { ...move('failover', ctx), ignoreConsistency: ctx.values['ignore-consistency'] ?? false, shutdownTimeoutSeconds: ctx.number('--shutdown-timeout', ctx.values['shutdown-timeout']) };
    },
  }),
  ...instanceViews,
  instanceConsole,
];
