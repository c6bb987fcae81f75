import { OpTestDelay } from '../../domain/opcodes.js';
import type { Command } from '../command.js';
import { owedUndoIntervalMs, watchOwedUndos } from '../owed-undo-watch.js';
import { opcodeCommand } from '../opcode-command.js';
import { viewCommand } from '../view-command.js';

export const daemonCommands: Command[] = [
  viewCommand({
    path: ['daemon'],
    args: [],
    summary: 'lead the cluster: run every queued job until stopped (SIGTERM or SIGINT)',
    details: `While it leads, it also looks (every OPL_REPAIR_INTERVAL_MS, default 10000) for nodes
that owe undos of failed jobs and answer again, and submits 'node repair NODE' for each.`,
    view: async (s) => {
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      process.once('SIGTERM', onSignal);
      process.once('SIGINT', onSignal);
      s.io.err(`opl daemon: pid ${process.pid}, store in ${s.dataDir}; waiting for the leader lease\n`);
      let leading = false;
      const watching = watchOwedUndos(s, stop.signal, () => leading, owedUndoIntervalMs(s.io.env));
      try {
        await s.plane.serve(stop.signal, () => {
          leading = true;
          s.io.err('opl daemon: leading; running queued jobs\n');
        });
      } finally {
        stop.abort();
        await watching;
      }
      s.io.err('opl daemon: stopped; running jobs finished, lease released\n');
      return 0;
    },
  }),
  opcodeCommand({
    path: ['debug', 'delay'],
    args: ['seconds'],
    usage: '[--lock-instance NAME]... [--fail]',
    summary: "Ganeti's OP_TEST_DELAY: a job that sleeps, optionally holding instance locks",
    options: { 'lock-instance': { type: 'string', multiple: true }, fail: { type: 'boolean' } },
    schema: OpTestDelay,
    flags: { durationSeconds: 'SECONDS', lockInstances: '--lock-instance' },
    opcode: ({ args: [seconds], values, number }) => ({
      durationSeconds: number('SECONDS', seconds),
      lockInstances: values['lock-instance'] ?? [],
      fail: values.fail ?? false,
    }),
  }),
];
