import { basename, dirname } from 'node:path';
import { diagnoseDriver, driverSearchPath, listDrivers } from '../../adapters/storage/driver-runner.js';
import { poolInfos, type PoolInfo } from '../../projections/read-models.js';
import type { Command } from '../command.js';
import { listCommand } from '../list-command.js';
import { json, table } from '../render.js';
import { viewCommand } from '../view-command.js';

export const storageCommands: Command[] = [
  listCommand<PoolInfo>({
    path: ['storage', 'pool', 'list'],
    summary: 'list storage pools: driver, parameters, the groups that reach them, the instances that use them',
    fields: {
      name: { title: 'Pool', get: (p) => p.name },
      driver: { title: 'Driver', get: (p) => p.driver },
      timeout: { title: 'Timeout', get: (p) => `${p.timeoutSeconds}s` },
      driver_dir: { title: 'DriverDir', get: (p) => p.driverDir ?? '(search path)' },
      groups: { title: 'Groups', get: (p) => p.groups.join(',') || '-' },
      instances: { title: 'Instances', get: (p) => p.instances.join(',') || '-' },
      params: { title: 'Parameters', get: (p) => Object.entries(p.params).map(([k, v]) => `${k}=${v}`).join(',') || '-' },
    },
    defaults: ['name', 'driver', 'driver_dir', 'timeout', 'groups', 'instances', 'params'],
    rows: async (s) => poolInfos(await s.views()),
  }),
  viewCommand({
    path: ['storage', 'driver', 'diagnose'],
    args: [],
    usage: '[--output json]',
    summary: 'say, per node, which storage drivers are valid and why not',
    view: async (s) => {
      const views = await s.views();
      const searchPath = driverSearchPath(s.io.env);
      const used = new Map([...views.cluster.pools.values()].map((p) => [p.driver, p.name]));
      const names = [...new Set([...(await listDrivers(searchPath)), ...used.keys()])].sort();
      const nodes = [...views.cluster.nodes.values()].map((n) => n.name).sort();
      // Local nodes share this machine's files; a remote executor will run this per node.
      const found = await Promise.all(names.map((name) => diagnoseDriver(name, searchPath)));
      const pools = [...views.cluster.pools.values()];
      // A pool uses the driver recorded with it, wherever the search path points now.
      const recorded = [...new Set(pools.flatMap((p) => (p.driverDir !== undefined && !found.some((d) => d.dir === p.driverDir) ? [p.driverDir] : [])))];
      const diagnoses = [...found, ...(await Promise.all(recorded.map((dir) => diagnoseDriver(basename(dir), [dirname(dir)]))))];
      const usedBy = (d: (typeof diagnoses)[number]) =>
        pools.filter((p) => p.driver === d.driver && (p.driverDir !== undefined ? p.driverDir === d.dir : found.includes(d))).map((p) => p.name);
      const rows = nodes.flatMap((node) => diagnoses.map((d) => ({ node, ...d, pools: usedBy(d) })));
      if (s.format === 'json') s.io.out(json({ searchPath, drivers: rows }));
      else {
        s.io.out(`Search path: ${searchPath.join(':')}\n`);
        s.io.out(table(['Node', 'Driver', 'Status', 'Style', 'Pools', 'Why not'], rows.map((r) => [r.node, r.driver, r.valid ? 'valid' : 'INVALID', r.style, r.pools.join(',') || '-', r.problems.join('; ') || '-'])));
      }
      return rows.some((r) => !r.valid && r.pools.length > 0) ? 1 : 0;
    },
  }),
];
