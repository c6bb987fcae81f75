import { OpClusterInit, OpClusterSetParams } from '../../domain/opcodes.js';
import { clusterInfo } from '../../projections/read-models.js';
import { parseList, parseNumber, positional, validated } from '../args.js';
import { UsageError } from '../usage-error.js';
import type { Command } from '../command.js';
import { json, keyValues } from '../render.js';
import { runJob } from '../session.js';
import { verifyNodes } from '../../adapters/nodes/verify.js';
import { withSession } from './with-session.js';

const flags = { enabledDiskTemplates: '--enabled-disk-templates', vcpuRatio: '--vcpu-ratio', clusterName: 'NAME', tags: '--tags', sharedFileStorageDir: '--shared-file-storage-dir', blockdevPrefixes: '--blockdev-prefixes', iallocatorTimeoutSeconds: '--iallocator-timeout', defaultIallocator: '--default-iallocator' };

export const clusterCommands: Command[] = [
  {
    path: ['cluster', 'init'],
    usage: 'opl cluster init NAME [--enabled-disk-templates T1,T2] [--vcpu-ratio R] [--shared-file-storage-dir PATH] [--blockdev-prefixes P1,P2] [--iallocator-timeout S] [--default-iallocator NAME]',
    summary: 'create the cluster (the first event of its log)',
    options: { 'enabled-disk-templates': { type: 'string' }, 'vcpu-ratio': { type: 'string' }, 'shared-file-storage-dir': { type: 'string' }, 'blockdev-prefixes': { type: 'string' }, 'iallocator-timeout': { type: 'string' }, 'default-iallocator': { type: 'string' } },
    run: (parsed, io) => {
      const [name] = positional('cluster init', parsed, ['name']);
      const op = validated('cluster init', OpClusterInit, {
        type: 'OP_CLUSTER_INIT',
        clusterName: name,
        enabledDiskTemplates: parseList(parsed.values['enabled-disk-templates'] as string | undefined),
        vcpuRatio: parseNumber('cluster init', '--vcpu-ratio', parsed.values['vcpu-ratio'] as string | undefined),
        sharedFileStorageDir: parsed.values['shared-file-storage-dir'],
        blockdevPrefixes: parseList(parsed.values['blockdev-prefixes'] as string | undefined),
        iallocatorTimeoutSeconds: parseNumber('cluster init', '--iallocator-timeout', parsed.values['iallocator-timeout'] as string | undefined),
        defaultIallocator: parsed.values['default-iallocator'],
      }, flags);
      return withSession('cluster init', parsed, io, (s) => runJob(s, 'cluster init', parsed, [op], () => `cluster ${name} initialised\n`));
    },
  },
  {
    path: ['cluster', 'modify'],
    usage: 'opl cluster modify [--enabled-disk-templates T1,T2] [--vcpu-ratio R] [--tags A,B] [--shared-file-storage-dir PATH] [--blockdev-prefixes P1,P2] [--iallocator-timeout S] [--default-iallocator NAME] [--add-pool NAME DRIVER [--pool-param K=V]... [--driver-timeout S]] [--remove-pool NAME]',
    summary: 'change cluster parameters; add or remove storage pools',
    options: {
      'enabled-disk-templates': { type: 'string' },
      'vcpu-ratio': { type: 'string' },
      tags: { type: 'string' },
      'shared-file-storage-dir': { type: 'string' },
      'blockdev-prefixes': { type: 'string' },
      'iallocator-timeout': { type: 'string' },
      'default-iallocator': { type: 'string' },
      'add-pool': { type: 'string' },
      'pool-param': { type: 'string', multiple: true },
      'driver-timeout': { type: 'string' },
      'remove-pool': { type: 'string' },
    },
    run: (parsed, io) => {
      const c = 'cluster modify';
      const addPool = parsed.values['add-pool'] as string | undefined;
      const [driver] = positional(c, parsed, addPool === undefined ? [] : ['driver']);
      const poolParams = Object.fromEntries(
        ((parsed.values['pool-param'] as string[] | undefined) ?? []).map((kv) => {
          const eq = kv.indexOf('=');
          if (eq <= 0) throw new UsageError(`${c}: --pool-param '${kv}': expected KEY=VALUE`);
          return [kv.slice(0, eq), kv.slice(eq + 1)];
        }),
      );
      if (addPool === undefined && (Object.keys(poolParams).length > 0 || parsed.values['driver-timeout'] !== undefined)) {
        throw new UsageError(`${c}: --pool-param and --driver-timeout go with --add-pool NAME DRIVER`);
      }
      const op = validated('cluster modify', OpClusterSetParams, {
        type: 'OP_CLUSTER_SET_PARAMS',
        enabledDiskTemplates: parseList(parsed.values['enabled-disk-templates'] as string | undefined),
        vcpuRatio: parseNumber('cluster modify', '--vcpu-ratio', parsed.values['vcpu-ratio'] as string | undefined),
        tags: parseList(parsed.values.tags as string | undefined),
        sharedFileStorageDir: parsed.values['shared-file-storage-dir'],
        blockdevPrefixes: parseList(parsed.values['blockdev-prefixes'] as string | undefined),
        iallocatorTimeoutSeconds: parseNumber(c, '--iallocator-timeout', parsed.values['iallocator-timeout'] as string | undefined),
        defaultIallocator: parsed.values['default-iallocator'],
        removePool: parsed.values['remove-pool'],
        ...(addPool !== undefined && {
          addPool: {
            poolName: addPool,
            driver,
            params: poolParams,
            timeoutSeconds: parseNumber(c, '--driver-timeout', parsed.values['driver-timeout'] as string | undefined),
          },
        }),
      }, { ...flags, addPool: '--add-pool', removePool: '--remove-pool' });
      return withSession(c, parsed, io, (s) => runJob(s, c, parsed, [op]));
    },
  },
  {
    path: ['cluster', 'info'],
    usage: 'opl cluster info [--output json]',
    summary: 'show the cluster',
    options: {},
    run: async (parsed, io) => {
      positional('cluster info', parsed, []);
      return withSession('cluster info', parsed, io, async (s) => {
        const info = clusterInfo(await s.views());
        if (!info) {
          io.err("opl: cluster info: the cluster is not initialised; run 'opl cluster init NAME' first\n");
          return 1;
        }
        io.out(
          s.format === 'json'
            ? json({ ...info, dataDir: s.dataDir })
            : keyValues([
                ['Cluster name', info.name],
                ['Cluster UUID', info.uuid],
                ['Serial number', info.serialNo],
                ['Enabled disk templates', info.enabledDiskTemplates],
                ['vcpu-ratio', info.vcpuRatio],
                ['Default iallocator', info.defaultIallocator],
                ['iallocator timeout', `${info.iallocatorTimeoutSeconds}s`],
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
      });
    },
  },
  {
    path: ['cluster', 'verify'],
    usage: 'opl cluster verify [--output json]',
    summary: 'check every node: its directory, and the shared file storage directory (exists, writable)',
    options: {},
    run: (parsed, io) => {
      positional('cluster verify', parsed, []);
      return withSession('cluster verify', parsed, io, async (s) => {
        const views = await s.views();
        if (!views.cluster.params) {
          io.err("opl: cluster verify: the cluster is not initialised; run 'opl cluster init NAME' first\n");
          return 1;
        }
        const problems = await verifyNodes(views.cluster);
        if (s.format === 'json') io.out(json({ ok: problems.length === 0, problems }));
        else if (problems.length === 0) io.out(`cluster verify: ${views.cluster.nodes.size} nodes checked, no problems\n`);
        else io.out(problems.map((p) => `ERROR: node ${p.node}: ${p.problem}\n`).join(''));
        return problems.length === 0 ? 0 : 1;
      });
    },
  },
];
