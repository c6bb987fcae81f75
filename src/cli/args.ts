import { parseArgs, type ParseArgsConfig } from 'node:util';
import { escapeControl, quote } from './text.js';
import { UsageError } from './usage-error.js';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

/** Options every command takes, anywhere on the line. */
export const GLOBAL_OPTIONS = {
  'data-dir': { type: 'string' },
  store: { type: 'string' },
  output: { type: 'string' },
  submit: { type: 'boolean' },
  priority: { type: 'string' },
  depends: { type: 'string', multiple: true },
  help: { type: 'boolean', short: 'h' },
} as const satisfies OptionSpec;

type Config<O extends OptionSpec> = { args: string[]; options: O; strict: true; allowPositionals: true };
type ValuesOf<O extends OptionSpec> = ReturnType<typeof parseArgs<Config<O>>>['values'];

export type GlobalValues = ValuesOf<typeof GLOBAL_OPTIONS>;
/**
 * The values node:util's parseArgs gives for a command's options and the global ones,
 * typed (`--memory` a string, `--disk` a string[], `--no-start` a boolean): no casts.
 */
export type Values<O extends OptionSpec> = GlobalValues & ValuesOf<O>;

export interface Parsed<O extends OptionSpec> {
  values: Values<O>;
  positionals: string[];
}

/** Parses one command's arguments; any problem is one line naming the command, in our words. */
export const parseCommandArgs = <O extends OptionSpec>(command: string, args: string[], options: O): Parsed<O> => {
  const all = { ...GLOBAL_OPTIONS, ...options };
  refuseMisuse(command, args, all);
  try {
    const { values, positionals } = parseArgs<Config<typeof GLOBAL_OPTIONS & O>>({ args, options: all, strict: true, allowPositionals: true });
    // The same object seen as its two halves, which TypeScript cannot prove for a generic O.
    return { values: values as Values<O>, positionals };
  } catch (error) {
    // refuseMisuse saw every case parseArgs refuses; this is a safety net.
    const message = error instanceof Error ? error.message.split('\n')[0]!.replace(/\. To specify a positional.*$/, '') : String(error);
    throw new UsageError(`${command}: ${message}`);
  }
};

/**
 * The checks parseArgs would make, and one it does not: an option that takes one
 * value given twice (`--memory 1G --memory 2G`) is refused rather than the last winning.
 */
const refuseMisuse = (command: string, args: string[], options: OptionSpec): void => {
  const { tokens } = parseArgs({ args, options, strict: false, allowPositionals: true, tokens: true });
  const seen = new Map<string, string>();
  for (const token of tokens) {
    if (token.kind !== 'option') continue;
    const spec = options[token.name];
    const flag = `--${token.name}`;
    if (!spec) throw new UsageError(`${command}: unknown option ${quote(token.rawName)} (see opl ${command} --help)`);
    if (spec.type === 'boolean') {
      if (token.value !== undefined) throw new UsageError(`${command}: ${flag} takes no value, got ${quote(token.value)}`);
      continue;
    }
    if (token.value === undefined) throw new UsageError(`${command}: ${flag} needs a value`);
    // As parseArgs does: `--memory -5` may be a forgotten value before another option.
    if (!token.inlineValue && token.value.length > 1 && token.value.startsWith('-')) {
      throw new UsageError(`${command}: ${flag} needs a value; to give ${quote(token.value)}, write ${flag}=${escapeControl(token.value)}`);
    }
    const earlier = seen.get(token.name);
    if (earlier !== undefined && !spec.multiple) {
      throw new UsageError(`${command}: ${flag} is given twice (${quote(earlier)} and ${quote(token.value)}); give it once`);
    }
    seen.set(token.name, token.value);
  }
};

export const positional = (command: string, positionals: string[], names: readonly string[]): string[] => {
  if (positionals.length !== names.length) {
    const expected = names.map((n) => n.toUpperCase()).join(' ');
    throw new UsageError(
      `${command}: expected ${names.length === 0 ? 'no arguments' : expected}, got ${positionals.length === 0 ? 'none' : quote(positionals.join(' '))}`,
    );
  }
  return positionals;
};

const UNITS: Record<string, number> = { '': 1, m: 1, g: 1024, t: 1024 * 1024 };

/** Ganeti's sizes: a number of MiB, or with an M, G or T suffix. */
export const parseSize = (command: string, flag: string, text: string | undefined): number | undefined => {
  if (text === undefined) return undefined;
  const match = /^(-?\d+(?:\.\d+)?)\s*([mgtMGT]?)(?:i?[bB])?$/.exec(text.trim());
  if (!match) throw new UsageError(`${command}: ${flag} ${quote(text)}: expected a size such as 512, 512M, 4G or 1T`);
  const mib = Number(match[1]) * UNITS[match[2]!.toLowerCase()]!;
  if (!Number.isInteger(mib)) throw new UsageError(`${command}: ${flag} ${quote(text)}: expected a whole number of MiB`);
  return mib;
};

export const parseNumber = (command: string, flag: string, text: string | undefined): number | undefined => {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value)) throw new UsageError(`${command}: ${flag} ${quote(text)}: expected a number`);
  return value;
};

export const parseYesNo = (command: string, flag: string, text: string | undefined): boolean | undefined => {
  if (text === undefined) return undefined;
  const t = text.toLowerCase();
  if (['yes', 'true', 'on', '1'].includes(t)) return true;
  if (['no', 'false', 'off', '0'].includes(t)) return false;
  throw new UsageError(`${command}: ${flag} ${quote(text)}: expected yes or no`);
};

export const parseList = (text: string | undefined): string[] | undefined =>
  text === undefined ? undefined : text.split(',').map((s) => s.trim()).filter((s) => s !== '');
