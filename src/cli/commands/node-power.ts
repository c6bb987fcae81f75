import { OpOobCommand, type OobCommand } from '../../domain/opcodes.js';
import type { PowerStatusRow } from '../../engine/handlers/oob.js';
import type { Command } from '../command.js';
import { opcodeCommand } from '../opcode-command.js';
import { table } from '../render.js';
import type { JobView } from '../../projections/job-view.js';

const DETAILS = `Runs each node's oob program (Ganeti's ndparam oob_program, given with
'opl cluster modify --node-parameters oob_program=PATH' or per node on 'opl node modify')
on the engine's host as 'PROGRAM COMMAND NODE': power-on, power-off, power-cycle or
power-status. It exits 0 when it did what it was asked; for power-status it prints
{"powered": true} or {"powered": false}. After on, off and cycle the engine asks for the
power status and records the change only once the program says it happened. As in
Ganeti, only a node marked offline is powered off; a node powered off is offline until
it is powered on and marked online again. A failover whose source does not answer (or is
offline) powers the source off through its program before the instance starts elsewhere.`;

const VERBS: { verb: string; command: OobCommand; summary: string; asks?: string }[] = [
  { verb: 'on', command: 'power-on', summary: 'power nodes on through their oob program' },
  { verb: 'off', command: 'power-off', summary: 'power offline nodes off through their oob program (asks first, unless -f)', asks: 'Power off' },
  { verb: 'cycle', command: 'power-cycle', summary: 'power-cycle nodes through their oob program (asks first, unless -f)', asks: 'Power-cycle' },
  { verb: 'status', command: 'power-status', summary: "show whether nodes are powered, as their oob program says" },
];

const statusRows = (job: JobView): PowerStatusRow[] => (Array.isArray(job.opcodes[0]?.result) ? (job.opcodes[0].result as PowerStatusRow[]) : []);

/** Ganeti's `gnt-node power on|off|cycle|status NODE…`. */
export const nodePowerCommands: Command[] = VERBS.map(({ verb, command, summary, asks }) =>
  opcodeCommand({
    path: ['node', 'power', verb],
    usage: 'NODE...',
    summary,
    details: DETAILS,
    schema: OpOobCommand,
    flags: { nodeNames: 'NODE' },
    opcode: ({ positionals, fail }) => {
      if (positionals.length === 0) fail('expected at least one NODE');
      return { command, nodeNames: positionals };
    },
    ...(asks && { confirm: ({ positionals }: { positionals: string[] }) => `${asks} node(s) ${positionals.join(', ')}? Every guest still running there ends.` }),
    onSuccess: (job, { positionals }) =>
      command === 'power-status'
        ? table(['Node', 'Powered'], statusRows(job).map((r) => [r.node, r.error ? `unknown: ${r.error}` : r.powered ? 'on' : 'off']))
        : `node(s) ${[...new Set(positionals)].join(', ')} ${{ 'power-on': 'powered on', 'power-off': 'powered off', 'power-cycle': 'power-cycled' }[command]}\n`,
    // A node whose program could not say its power: its row says why, and the command exits 1.
    exitCode: (job) => (statusRows(job).some((r) => r.error) ? 1 : 0),
  }),
);
