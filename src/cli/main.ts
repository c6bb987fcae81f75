import { StoreFailureError, StoreOpenError } from '../domain/ports/event-store.js';
import { GLOBAL_OPTIONS } from './args.js';
import { GLOBAL_HELP, type Command } from './command.js';
import { auditCommands } from './commands/audit.js';
import { auditChainCommands } from './commands/audit-chain.js';
import { clusterCommands } from './commands/cluster.js';
import { daemonCommands } from './commands/daemon.js';
import { demoCommand } from './commands/demo.js';
import { groupCommands } from './commands/group.js';
import { iallocatorCommands } from './commands/iallocator.js';
import { instanceCommands } from './commands/instance.js';
import { jobCommands } from './commands/job.js';
import { nodeCommands } from './commands/node.js';
import { nodeTokenCommand } from './commands/node-token.js';
import { nodeEvacuateCommands } from './commands/node-evacuate.js';
import { storageCommands } from './commands/storage.js';
import { STORE_FAILED_EXIT, type Io } from './session.js';
import { escapeControl, quote } from './text.js';
import { UsageError } from './usage-error.js';
import { version } from './version.js';

export const COMMANDS: Command[] = [
  ...clusterCommands,
  ...groupCommands,
  ...nodeCommands,
  nodeTokenCommand,
  ...nodeEvacuateCommands,
  ...instanceCommands,
  ...storageCommands,
  ...iallocatorCommands,
  ...jobCommands,
  ...auditCommands,
  ...auditChainCommands,
  ...daemonCommands,
  demoCommand,
];

const listing = (commands: Command[]) => commands.map((c) => `  ${c.usage}\n      ${c.summary}${c.aliases.length ? ` (also: ${c.aliases.join(', ')})` : ''}`).join('\n');

const overview = (): string =>
  `opl — an event-sourced cluster manager in the Ganeti tradition\n\nUsage: opl OBJECT VERB [ARGS] [OPTIONS]\n\n${listing(COMMANDS)}\n\n${GLOBAL_HELP}`;

const objectHelp = (words: string[], commands: Command[]): string =>
  `Usage: opl ${words.join(' ')} VERB [ARGS] [OPTIONS]   (opl ${words.join(' ')} VERB --help for one)\n\n${listing(commands)}\n\n${GLOBAL_HELP}`;

/** The words that name a command: its path, or its path with an alias for the last word. */
const spellings = (c: Command): string[][] => [c.path as string[], ...c.aliases.map((a) => [...c.path.slice(0, -1), a])];
const startsWith = (words: string[], prefix: string[]) => prefix.every((w, i) => words[i] === w);
const under = (words: string[]) => COMMANDS.filter((c) => spellings(c).some((s) => startsWith(s, words)));

const GLOBALS: Record<string, { type: 'string' | 'boolean' }> = { ...GLOBAL_OPTIONS, version: { type: 'boolean' } };

/**
 * Splits the line into the command's words and everything else. Global options may
 * come before or between the words (`opl --data-dir X job list`, `opl job --data-dir X
 * list`), as an operator used to Ganeti's tools types them; they go to the command.
 */
const locate = (argv: string[]) => {
  const words: string[] = [];
  const globals: string[] = [];
  let i = 0;
  while (i < argv.length) {
    const arg = argv[i]!;
    if (arg.startsWith('-') && arg !== '-' && arg !== '--') {
      const name = arg === '-h' ? 'help' : arg.replace(/^--/, '').split('=')[0]!;
      const spec = arg.startsWith('--') || arg === '-h' ? GLOBALS[name] : undefined;
      if (!spec) break; // the command's own option: its words are over
      const takesNext = spec.type === 'string' && !arg.includes('=') && i + 1 < argv.length;
      globals.push(...argv.slice(i, takesNext ? i + 2 : i + 1));
      i += takesNext ? 2 : 1;
      continue;
    }
    if (under([...words, arg]).length === 0) break;
    words.push(arg);
    i += 1;
  }
  const command = COMMANDS.find((c) => spellings(c).some((s) => s.length === words.length && startsWith(s, words)));
  return { words, globals, rest: argv.slice(i), command };
};

/** Runs one `opl` invocation and returns its exit status; never throws. */
export const main = async (argv: string[], io: Io): Promise<number> => {
  const { words, globals, rest, command } = locate(argv);
  const asked = (flag: string) => globals.includes(flag);
  if (!command) {
    if (words.length === 0 && asked('--version')) {
      io.out(`opl ${version()}\n`);
      return 0;
    }
    if (words.length === 0 && rest[0] === 'help' && rest.length <= 2) {
      const object = rest[1] === undefined ? [] : under([rest[1]]);
      if (rest[1] === undefined || object.length === 0) io.out(overview());
      else io.out(objectHelp([rest[1]], object));
      return 0;
    }
    const wantsHelp = asked('--help') || asked('-h') || rest[0] === '--help' || rest[0] === '-h';
    if (words.length === 0 && (wantsHelp || rest.length === 0)) {
      io.out(overview());
      return wantsHelp ? 0 : 2;
    }
    if (words.length > 0 && wantsHelp) {
      io.out(objectHelp(words, under(words)));
      return 0;
    }
    io.err(`opl: ${unknown(words, rest)}\n`);
    return 2;
  }
  try {
    return await command.run([...globals, ...rest], io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`opl: ${escapeControl(error.message)}\n`);
      return 2;
    }
    if (error instanceof StoreFailureError) {
      io.err(`opl: ${command.name}: ${escapeControl(error.message)}\n`);
      return STORE_FAILED_EXIT;
    }
    if (error instanceof StoreOpenError) {
      io.err(`opl: ${escapeControl(error.message)}\n`);
      return 1;
    }
    const message = error instanceof Error ? error.message : String(error);
    io.err(`opl: ${command.name}: ${escapeControl(message)}\n`);
    if (io.env.OPL_DEBUG && error instanceof Error) io.err(`${error.stack}\n`);
    return 1;
  }
};

/** Why the words named no command, with what would have. */
const unknown = (words: string[], rest: string[]): string => {
  if (words.length === 0) {
    const objects = [...new Set(COMMANDS.map((c) => c.path[0]))];
    const what = rest[0]!.startsWith('-') ? `option ${quote(rest[0]!)} before the command` : `command ${quote(rest[0]!)}`;
    return `unknown ${what}; expected one of ${objects.join(', ')} (see opl --help)`;
  }
  const next = [...new Set(under(words).flatMap((c) => spellings(c).filter((s) => startsWith(s, words)).map((s) => s[words.length]!)))];
  const prefix = words.join(' ');
  return rest[0] === undefined || rest[0].startsWith('-')
    ? `${prefix}: missing verb; expected one of ${next.join(', ')}`
    : `${prefix}: unknown verb ${quote(rest[0])}; expected one of ${next.join(', ')}`;
};
