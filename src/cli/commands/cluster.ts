import { verifyCluster, verifyText } from '../../adapters/nodes/verify.js';
import { driverSearchPath } from '../../adapters/storage/driver-runner.js';
import { ensureRecordedAuditKey } from '../../adapters/audit/record-key.js';
import { ensureClusterPki } from '../../adapters/pki/cluster-pki.js';
import { OpClusterDestroy, OpClusterInit, OpClusterSetParams } from '../../domain/opcodes.js';
import { clusterInfo } from '../../projections/read-models.js';
import type { Command, Ctx } from '../command.js';
import { opcodeCommand } from '../opcode-command.js';
import { json, keyValues } from '../render.js';
import { quote } from '../text.js';
import { viewCommand } from '../view-command.js';
import { NODE_PARAMETERS_OPTION, oobProgramParameter } from './node-parameters.js';

const flags = {
  clusterName: 'NAME',
  enabledDiskTemplates: '--enabled-disk-templates',
  enabledHypervisors: '--enabled-hypervisors',
  vcpuRatio: '--vcpu-ratio',
  tags: '--tags',
  sharedFileStorageDir: '--shared-file-storage-dir',
  blockdevPrefixes: '--blockdev-prefixes',
  iallocatorTimeoutSeconds: '--iallocator-timeout',
  defaultIallocator: '--default-iallocator',
  oobProgram: '--node-parameters oob_program',
  addPool: '--add-pool',
  'addPool.driver': 'DRIVER',
  'addPool.params': '--pool-param',
  'addPool.timeoutSeconds': '--driver-timeout',
  removePool: '--remove-pool',
  modifyPool: '--modify-pool',
  'modifyPool.timeoutSeconds': '--driver-timeout',
};

/** The parameters `cluster init` and `cluster modify` share. */
const PARAM_OPTIONS = {
  'enabled-disk-templates': { type: 'string' },
  'enabled-hypervisors': { type: 'string' },
  'vcpu-ratio': { type: 'string' },
  'shared-file-storage-dir': { type: 'string' },
  'blockdev-prefixes': { type: 'string' },
  'iallocator-timeout': { type: 'string' },
  'default-iallocator': { type: 'string' },
  ...NODE_PARAMETERS_OPTION,
} as const;
const PARAM_USAGE = '[--enabled-disk-templates T1,T2] [--enabled-hypervisors H1,H2] [--vcpu-ratio R] [--shared-file-storage-dir PATH] [--blockdev-prefixes P1,P2] [--iallocator-timeout S] [--default-iallocator NAME] [--node-parameters oob_program=PATH]';

const params = ({ values, list, number, fail }: Ctx<typeof PARAM_OPTIONS, readonly string[]>) => ({
  enabledDiskTemplates: list(values['enabled-disk-templates']),
  enabledHypervisors: list(values['enabled-hypervisors']),
  vcpuRatio: number('--vcpu-ratio', values['vcpu-ratio']),
  sharedFileStorageDir: values['shared-file-storage-dir'],
  blockdevPrefixes: list(values['blockdev-prefixes']),
  iallocatorTimeoutSeconds: number('--iallocator-timeout', values['iallocator-timeout']),
  defaultIallocator: values['default-iallocator'],
  oobProgram: oobProgramParameter(values['node-parameters'], fail),
});

const POOL_OPTIONS = {
  'add-pool': { type: 'string' },
  'pool-param': { type: 'string', multiple: true },
  'driver-timeout': { type: 'string' },
  'remove-pool': { type: 'string' },
  'modify-pool': { type: 'string' },
} as const;

/** `--add-pool NAME DRIVER [--pool-param K=V]... [--driver-timeout S]`: the one command whose arguments depend on an option. */
const addPool = (ctx: Ctx<typeof POOL_OPTIONS, readonly string[]>) => {
  const { values } = ctx;
  const name = values['add-pool'];
  const pairs = (values['pool-param'] ?? []).map((kv) => {
    const eq = kv.indexOf('=');
    if (eq <= 0) ctx.fail(`--pool-param ${quote(kv)}: expected KEY=VALUE`);
    return [kv.slice(0, eq), kv.slice(eq + 1)] as const;
  });
  if (name === undefined) {
    if (pairs.length > 0) ctx.fail('--pool-param goes with --add-pool NAME DRIVER');
    if (values['driver-timeout'] !== undefined && values['modify-pool'] === undefined) ctx.fail('--driver-timeout goes with --add-pool NAME DRIVER or --modify-pool NAME');
    if (ctx.positionals.length > 0) ctx.fail(`expected no arguments, got ${quote(ctx.positionals.join(' '))}`);
    return undefined;
  }
  if (values['modify-pool'] !== undefined) ctx.fail('--add-pool and --modify-pool go in separate commands');
  if (ctx.positionals.length !== 1) ctx.fail(`--add-pool ${quote(name)}: expected DRIVER after it, got ${ctx.positionals.length === 0 ? 'none' : quote(ctx.positionals.join(' '))}`);
  return { poolName: name, driver: ctx.positionals[0], params: Object.fromEntries(pairs), timeoutSeconds: ctx.number('--driver-timeout', values['driver-timeout']) };
};

const notInitialised = (command: string) => `opl: ${command}: the cluster is not initialised; run 'opl cluster init NAME' first\n`;

export const clusterCommands: Command[] = [
  opcodeCommand({
    path: ['cluster', 'init'],
    args: ['name'],
    usage: PARAM_USAGE,
    summary: 'create the cluster (the first event of its log)',
    options: PARAM_OPTIONS,
    schema: OpClusterInit,
    flags,
    opcode: (ctx) => ({ clusterName: ctx.args[0], ...params(ctx) }),
    onSuccess: (_job, { args: [name] }) => `cluster ${name} initialised\n`,
    // The checkpoint signing key is born with the cluster; its public half goes in the log.
    // So is its certificate authority, for the node daemons (opl-noded), with the engine's own client certificate.
    committed: async (s, { args: [name] }) => {
      await ensureRecordedAuditKey(s.plane.store, s.dataDir, s.plane.actor, { newCluster: true });
      await ensureClusterPki(s.dataDir, name!);
    },
  }),
  opcodeCommand({
    path: ['cluster', 'destroy'],
    args: ['name'],
    summary: "destroy an empty cluster's configuration, naming it (asks first, unless -f); the log keeps its history",
    schema: OpClusterDestroy,
    flags: { clusterName: 'NAME' },
    opcode: ({ args: [name] }) => ({ clusterName: name }),
    confirm: ({ args: [name] }) => `Destroy cluster '${name}'? Its configuration is gone afterwards (the log keeps its history).`,
  }),
  opcodeCommand({
    path: ['cluster', 'modify'],
    usage: `${PARAM_USAGE} [--tags A,B] [--add-pool NAME DRIVER [--pool-param K=V]... [--driver-timeout S]] [--modify-pool NAME [--driver-timeout S]] [--remove-pool NAME]`,
    summary: "change cluster parameters; add, modify (find its driver again) or remove storage pools",
    options: { ...PARAM_OPTIONS, ...POOL_OPTIONS, tags: { type: 'string' } },
    schema: OpClusterSetParams,
    flags,
    opcode: (ctx) => {
      const pool = addPool(ctx);
      const modify = ctx.values['modify-pool'];
      const modifyPool = modify === undefined ? undefined : { poolName: modify, timeoutSeconds: ctx.number('--driver-timeout', ctx.values['driver-timeout']) };
      return { ...params(ctx), tags: ctx.list(ctx.values.tags), removePool: ctx.values['remove-pool'], ...(pool && { addPool: pool }), ...(modifyPool && { modifyPool }) };
    },
  }),
  viewCommand({
    path: ['cluster', 'info'],
    args: [],
    usage: '[--output json]',
    summary: 'show the cluster',
    view: async (s, { command }) => {
      const info = clusterInfo(await s.views());
      if (!info) {
        s.io.err(notInitialised(command));
        return 1;
      }
      s.io.out(
        s.format === 'json'
          ? json({ ...info, dataDir: s.dataDir })
          : keyValues([
              ['Cluster name', info.name],
              ['Cluster UUID', info.uuid],
              ['Serial number', info.serialNo],
              ['Enabled disk templates', info.enabledDiskTemplates],
              ['Enabled hypervisors', info.enabledHypervisors],
              ['vcpu-ratio', info.vcpuRatio],
              ['Default iallocator', info.defaultIallocator],
              ['iallocator timeout', `${info.iallocatorTimeoutSeconds}s`],
              ['oob program', info.oobProgram ?? 'none'],
              ['Shared file storage dir', info.sharedFileStorageDir],
              ['Block device prefixes', info.blockdevPrefixes],
              ['Tags', info.tags],
              ['Node groups', info.groups],
              ['Nodes', info.nodes],
              ['Instances', info.instances],
              ['Data directory', s.dataDir],
            ]),
      );
      return 0;
    },
  }),
  viewCommand({
    path: ['cluster', 'verify'],
    args: [],
    usage: '[--output json]',
    summary: 'ask every node at once and check the cluster against what they report; exit 1 on any finding',
    details: `Per node: whether it answers (a node daemon within 3 s), its clock against this host's
(more than 150 s off is a finding), instances running where they should not or not running
where they should, its file storage as the node itself sees it (the shared file storage
directory exists, is writable, is given to its daemon, and is one file system: each node
reads a file every other node of its group wrote there; file and sharedfile disks missing,
or present where no instance has them) and adopted devices (still the device recorded).
Per group: the driver of every pool it is connected to (there, with create and remove),
and whether it is N+1 redundant (any one node could fail and its instances find room on
the others), judged by the built-in allocator's model.
Offline nodes are not asked. Exit status 0 when nothing is found, 1 otherwise.`,
    view: async (s, { command }) => {
      const views = await s.views();
      if (!views.cluster.params) {
        s.io.err(notInitialised(command));
        return 1;
      }
      const report = await verifyCluster(views.cluster, await s.observe(views.cluster), { storage: s.storageCheck, identify: s.identify, driverPath: driverSearchPath(s.io.env), daemonOf: s.daemonOf });
      if (s.format === 'json') s.io.out(json(report));
      else s.io.out(verifyText(report));
      return report.ok ? 0 : 1;
    },
  }),
];
