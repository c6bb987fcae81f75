import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { z } from 'zod';
import { UsageError } from './usage-error.js';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

export const GLOBAL_OPTIONS = {
  'data-dir': { type: 'string' },
  store: { type: 'string' },
  output: { type: 'string', short: 'o' },
  submit: { type: 'boolean' },
  priority: { type: 'string' },
  depends: { type: 'string', multiple: true },
  help: { type: 'boolean', short: 'h' },
} as const satisfies OptionSpec;

export interface Parsed {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

/** Parses one command's arguments; any problem is one line naming the command. */
export const parseCommandArgs = (command: string, args: string[], options: OptionSpec): Parsed => {
  try {
    const { values, positionals } = parseArgs({
      args,
      options: { ...GLOBAL_OPTIONS, ...options },
      allowPositionals: true,
      strict: true,
    });
    return { values: values as Parsed['values'], positionals };
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0]! : String(error);
    throw new UsageError(`${command}: ${message.replace(/\. To specify a positional.*$/, '')}`);
  }
};

export const positional = (command: string, parsed: Parsed, names: string[]): string[] => {
  if (parsed.positionals.length !== names.length) {
    const expected = names.map((n) => n.toUpperCase()).join(' ');
    throw new UsageError(
      `${command}: expected ${names.length === 0 ? 'no arguments' : expected}, got ${parsed.positionals.length === 0 ? 'none' : `'${parsed.positionals.join(' ')}'`}`,
    );
  }
  return parsed.positionals;
};

const UNITS: Record<string, number> = { '': 1, m: 1, g: 1024, t: 1024 * 1024 };

/** Ganeti's sizes: a number of MiB, or with an M, G or T suffix. */
export const parseSize = (command: string, flag: string, text: string | undefined): number | undefined => {
  if (text === undefined) return undefined;
  const match = /^(-?\d+(?:\.\d+)?)\s*([mgtMGT]?)(?:i?[bB])?$/.exec(text.trim());
  if (!match) throw new UsageError(`${command}: ${flag} '${text}': expected a size such as 512, 512M, 4G or 1T`);
  const mib = Number(match[1]) * UNITS[match[2]!.toLowerCase()]!;
  if (!Number.isInteger(mib)) throw new UsageError(`${command}: ${flag} '${text}': expected a whole number of MiB`);
  return mib;
};

export const parseNumber = (command: string, flag: string, text: string | undefined): number | undefined => {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value)) throw new UsageError(`${command}: ${flag} '${text}': expected a number`);
  return value;
};

export const parseYesNo = (command: string, flag: string, text: string | undefined): boolean | undefined => {
  if (text === undefined) return undefined;
  const t = text.toLowerCase();
  if (['yes', 'true', 'on', '1'].includes(t)) return true;
  if (['no', 'false', 'off', '0'].includes(t)) return false;
  throw new UsageError(`${command}: ${flag} '${text}': expected yes or no`);
};

export const parseList = (text: string | undefined): string[] | undefined =>
  text === undefined ? undefined : text.split(',').map((s) => s.trim()).filter((s) => s !== '');

/** Validates a built opcode with its schema; the first problem becomes one line. */
export const validated = <T>(command: string, schema: z.ZodType<T>, value: unknown, flags: Record<string, string> = {}): T => {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = String(issue.path[0] ?? '');
  const where = flags[field] ?? (field ? field : 'arguments');
  const received = (value as Record<string, unknown>)[field];
  const shown = received === undefined ? 'missing' : `'${Array.isArray(received) ? received.join(',') : String(received)}'`;
  throw new UsageError(`${command}: ${where} ${shown}: ${issue.message}`);
};
