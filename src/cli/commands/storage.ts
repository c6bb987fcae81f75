import { diagnoseDriver, driverSearchPath, listDrivers } from '../../adapters/storage/driver-runner.js';
import { poolInfos } from '../../projections/read-models.js';
import { positional } from '../args.js';
import type { Command } from '../command.js';
import { json, table } from '../render.js';
import { withSession } from './with-session.js';

export const storageCommands: Command[] = [
  {
    path: ['storage', 'pool', 'list'],
    usage: 'opl storage pool list [--output json]',
    summary: 'list storage pools: driver, parameters, the groups that reach them, the instances that use them',
    options: {},
    run: (parsed, io) => {
      positional('storage pool list', parsed, []);
      return withSession('storage pool list', parsed, io, async (s) => {
        const pools = poolInfos(await s.views());
        io.out(
          s.format === 'json'
            ? json(pools)
            : table(
                ['Pool', 'Driver', 'Timeout', 'Groups', 'Instances', 'Parameters'],
                pools.map((p) => [p.name, p.driver, `${p.timeoutSeconds}s`, p.groups.join(',') || '-', p.instances.join(',') || '-', Object.entries(p.params).map(([k, v]) => `${k}=${v}`).join(',') || '-']),
              ),
        );
        return 0;
      });
    },
  },
];

storageCommands.push({
  path: ['storage', 'driver', 'diagnose'],
  usage: 'opl storage driver diagnose [--output json]',
  summary: 'say, per node, which storage drivers are valid and why not',
  options: {},
  run: (parsed, io) => {
    positional('storage driver diagnose', parsed, []);
    return withSession('storage driver diagnose', parsed, io, async (s) => {
      const views = await s.views();
      const searchPath = driverSearchPath(io.env);
      const used = new Map([...views.cluster.pools.values()].map((p) => [p.driver, p.name]));
      const names = [...new Set([...(await listDrivers(searchPath)), ...used.keys()])].sort();
      const nodes = [...views.cluster.nodes.values()].map((n) => n.name).sort();
      // Local nodes share this machine's files; a remote executor will run this per node.
      const diagnoses = await Promise.all(names.map((name) => diagnoseDriver(name, searchPath)));
      const rows = nodes.flatMap((node) => diagnoses.map((d) => ({ node, ...d, pools: [...views.cluster.pools.values()].filter((p) => p.driver === d.driver).map((p) => p.name) })));
      if (s.format === 'json') io.out(json({ searchPath, drivers: rows }));
      else {
        io.out(`Search path: ${searchPath.join(':')}\n`);
        io.out(table(['Node', 'Driver', 'Status', 'Style', 'Pools', 'Why not'], rows.map((r) => [r.node, r.driver, r.valid ? 'valid' : 'INVALID', r.style, r.pools.join(',') || '-', r.problems.join('; ') || '-'])));
      }
      return rows.some((r) => !r.valid && r.pools.length > 0) ? 1 : 0;
    });
  },
});
