import { StoreOpenError } from '../domain/ports/event-store.js';
import type { Command } from './command.js';
import { auditCommands } from './commands/audit.js';
import { clusterCommands } from './commands/cluster.js';
import { daemonCommands } from './commands/daemon.js';
import { demoCommand } from './commands/demo.js';
import { groupCommands } from './commands/group.js';
import { iallocatorCommands } from './commands/iallocator.js';
import { instanceCommands } from './commands/instance.js';
import { jobCommands } from './commands/job.js';
import { nodeCommands } from './commands/node.js';
import { nodeEvacuateCommands } from './commands/node-evacuate.js';
import { storageCommands } from './commands/storage.js';
import { parseCommandArgs } from './args.js';
import type { Io } from './session.js';
import { UsageError } from './usage-error.js';

export const COMMANDS: Command[] = [
  ...clusterCommands,
  ...groupCommands,
  ...nodeCommands,
  ...nodeEvacuateCommands,
  ...instanceCommands,
  ...storageCommands,
  ...iallocatorCommands,
  ...jobCommands,
  ...auditCommands,
  ...daemonCommands,
  demoCommand,
];

const GLOBAL_HELP = `Global options (every command):
  --data-dir DIR   where the embedded store and local nodes live (env OPL_DATA_DIR)
  --store URL      sqlite:PATH, postgres://USER@HOST:PORT/DB[?schema=S] (env OPL_STORE)
  --output json    machine-readable output on listings, info and jobs
  --submit         queue the job, print its id and return at once
  --priority N     job priority, -20 (first) to 19; default 0
  --depends JOB    run only after job JOB succeeded (repeatable)
`;

const overview = (): string => {
  const lines = COMMANDS.map((c) => `  ${c.usage}\n      ${c.summary}`);
  return `opl — an event-sourced cluster manager in the Ganeti tradition\n\nUsage: opl OBJECT VERB [ARGS] [OPTIONS]\n\n${lines.join('\n')}\n\n${GLOBAL_HELP}`;
};

const find = (argv: string[]): { command: Command; rest: string[] } | undefined => {
  for (const length of [3, 2, 1]) {
    const command = COMMANDS.find((c) => c.path.length === length && c.path.every((p, i) => argv[i] === p));
    if (command) return { command, rest: argv.slice(length) };
  }
  return undefined;
};

/** Runs one `opl` invocation and returns its exit status; never throws. */
export const main = async (argv: string[], io: Io): Promise<number> => {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    io.out(overview());
    return argv.length === 0 ? 2 : 0;
  }
  const found = find(argv);
  if (!found) {
    const object = COMMANDS.filter((c) => c.path[0] === argv[0]);
    if (object.length > 0) {
      const verbs = [...new Set(object.map((c) => c.path.slice(1).join(' ')))].join(', ');
      io.err(`opl: ${argv[0]}: ${argv[1] === undefined ? 'missing verb' : `unknown verb '${argv[1]}'`}; expected one of ${verbs}\n`);
    } else {
      io.err(`opl: unknown command '${argv[0]}'; expected one of ${[...new Set(COMMANDS.map((c) => c.path[0]))].join(', ')} (see opl --help)\n`);
    }
    return 2;
  }
  const { command, rest } = found;
  try {
    const parsed = parseCommandArgs(command.path.join(' '), rest, command.options);
    if (parsed.values.help) {
      io.out(`Usage: ${command.usage}\n  ${command.summary}\n\n${GLOBAL_HELP}`);
      return 0;
    }
    return await command.run(parsed, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`opl: ${error.message}\n`);
      return 2;
    }
    if (error instanceof StoreOpenError) {
      io.err(`opl: ${error.message}\n`);
      return 1;
    }
    const message = error instanceof Error ? error.message : String(error);
    io.err(`opl: ${command.path.join(' ')}: ${message}\n`);
    if (io.env.OPL_DEBUG && error instanceof Error) io.err(`${error.stack}\n`);
    return 1;
  }
};
