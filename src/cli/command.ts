import { parseCommandArgs, parseList, parseNumber, parseSize, parseYesNo, positional, type OptionSpec, type Values } from './args.js';
import type { Io } from './session.js';
import { UsageError } from './usage-error.js';

/** One line of Ganeti's command table: the words that name it, and what runs. */
export interface Command {
  /** e.g. ['instance', 'add']; the command's name is these words. */
  readonly path: readonly string[];
  readonly name: string;
  /** Other spellings of the path's last word (Ganeti's `startup` for `start`). */
  readonly aliases: readonly string[];
  readonly usage: string;
  readonly summary: string;
  /** Parses its own arguments (global options included) and runs; returns the exit status. */
  run(args: string[], io: Io): Promise<number>;
}

export const GLOBAL_HELP = `Global options (every command, anywhere on the line):
  --data-dir DIR   where the embedded store and local nodes live (env OPL_DATA_DIR)
  --store URL      sqlite:PATH, postgres://USER@HOST:PORT/DB[?schema=S] (env OPL_STORE)
  --output json    machine-readable output on listings, info and jobs (sizes in MiB)
  --submit         queue the job, print its id and return at once
  --priority N     job priority, -20 (first) to 19; default 0
  --depends JOB    run only after job JOB, submitted earlier, succeeded (repeatable)
  -h, --help       this help; opl OBJECT --help lists an object's commands
`;

type Named<A extends readonly string[]> = { -readonly [K in keyof A]: string };

/** What a command's body gets: its typed option values, its arguments, and parsers that name it. */
export interface Ctx<O extends OptionSpec, A extends readonly string[]> {
  command: string;
  values: Values<O>;
  /** The positional arguments, by the names in the spec's `args`. */
  args: Named<A>;
  positionals: string[];
  /** Refuses the command line: one line, exit status 2, nothing done. */
  fail(message: string): never;
  size(flag: string, text: string | undefined): number | undefined;
  number(flag: string, text: string | undefined): number | undefined;
  yesNo(flag: string, text: string | undefined): boolean | undefined;
  list(text: string | undefined): string[] | undefined;
}

export interface CommandSpec<O extends OptionSpec, A extends readonly string[]> {
  path: readonly string[];
  aliases?: readonly string[];
  summary: string;
  /** Positional arguments, checked exactly; without them the body checks `positionals` itself. */
  args?: A;
  /** The usage line after the path and the arguments' names. */
  usage?: string;
  options?: O;
  /** More text for --help. */
  details?: string;
}

/** The core both builders share: name from path, usage, --help, argument checks. */
export const defineCommand = <O extends OptionSpec, A extends readonly string[]>(
  spec: CommandSpec<O, A>,
  body: (ctx: Ctx<O, A>, io: Io) => Promise<number>,
): Command => {
  const name = spec.path.join(' ');
  const usage = ['opl', name, ...(spec.args ?? []).map((a) => a.toUpperCase()), ...(spec.usage ? [spec.usage] : [])].join(' ');
  const aliases = spec.aliases ?? [];
  const help = [
    `Usage: ${usage}`,
    `  ${spec.summary}`,
    ...(aliases.length > 0 ? [`  (also: ${aliases.map((a) => ['opl', ...spec.path.slice(0, -1), a].join(' ')).join(', ')})`] : []),
    ...(spec.details ? ['', spec.details.trimEnd()] : []),
    '',
    GLOBAL_HELP,
  ].join('\n');
  return {
    path: spec.path,
    name,
    aliases,
    usage,
    summary: spec.summary,
    run: async (argv, io) => {
      const { values, positionals } = parseCommandArgs(name, argv, spec.options ?? ({} as O));
      if (values.help) {
        io.out(help);
        return 0;
      }
      const fail = (message: string): never => {
        throw new UsageError(`${name}: ${message}`);
      };
      const args = (spec.args ? positional(name, positionals, spec.args) : positionals) as Named<A>;
      return body(
        {
          command: name,
          values,
          args,
          positionals,
          fail,
          size: (flag, text) => parseSize(name, flag, text),
          number: (flag, text) => parseNumber(name, flag, text),
          yesNo: (flag, text) => parseYesNo(name, flag, text),
          list: parseList,
        },
        io,
      );
    },
  };
};
