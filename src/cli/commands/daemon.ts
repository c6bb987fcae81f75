import { OpTestDelay } from '../../domain/opcodes.js';
import { parseNumber, positional, validated } from '../args.js';
import type { Command } from '../command.js';
import { runJob } from '../session.js';
import { withSession } from './with-session.js';

export const daemonCommands: Command[] = [
  {
    path: ['daemon'],
    usage: 'opl daemon',
    summary: 'lead the cluster: run every queued job until stopped (SIGTERM or SIGINT)',
    options: {},
    run: (parsed, io) => {
      positional('daemon', parsed, []);
      return withSession('daemon', parsed, io, async (s) => {
        const stop = new AbortController();
        const onSignal = () => stop.abort();
        process.once('SIGTERM', onSignal);
        process.once('SIGINT', onSignal);
        io.err(`opl daemon: pid ${process.pid}, store in ${s.dataDir}; waiting for the leader lease\n`);
        await s.plane.serve(stop.signal, () => io.err('opl daemon: leading; running queued jobs\n'));
        io.err('opl daemon: stopped; running jobs finished, lease released\n');
        return 0;
      });
    },
  },
  {
    path: ['debug', 'delay'],
    usage: 'opl debug delay SECONDS [--lock-instance NAME]... [--fail]',
    summary: "Ganeti's OP_TEST_DELAY: a job that sleeps, optionally holding instance locks",
    options: { 'lock-instance': { type: 'string', multiple: true }, fail: { type: 'boolean' } },
    run: (parsed, io) => {
      const c = 'debug delay';
      const [seconds] = positional(c, parsed, ['seconds']);
      const op = validated(c, OpTestDelay, {
        type: 'OP_TEST_DELAY',
        durationSeconds: parseNumber(c, 'SECONDS', seconds),
        lockInstances: parsed.values['lock-instance'] ?? [],
        fail: parsed.values.fail ?? false,
      }, { durationSeconds: 'SECONDS', lockInstances: '--lock-instance' });
      return withSession(c, parsed, io, (s) => runJob(s, c, parsed, [op]));
    },
  },
];
