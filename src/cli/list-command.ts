import type { OptionSpec } from './args.js';
import type { Command, Ctx } from './command.js';
import { formatSize, json, table, UNIT_NAMES, type Cell, type TableStyle, type Units } from './render.js';
import type { Session } from './session.js';
import { quote } from './text.js';
import { viewCommand } from './view-command.js';

/** One column a listing can show, by Ganeti's field name (`-o name,pnode,oper_ram`). */
export interface Field<T> {
  title: string;
  get(row: T): Cell;
  /** A number of MiB, shown in --units. */
  size?: boolean;
}

/** Ganeti's list options: -o FIELD,... (or +FIELD,... to add to the default set), --units, --no-headers, --separator. */
const LIST_OPTIONS = {
  fields: { type: 'string', short: 'o' },
  units: { type: 'string' },
  'no-headers': { type: 'boolean' },
  separator: { type: 'string' },
} as const;
type ListOptions = typeof LIST_OPTIONS;

export interface ListSpec<T, O extends OptionSpec> {
  path: readonly string[];
  summary: string;
  /** Options of this listing besides Ganeti's list options, with their usage. */
  options?: O;
  usage?: string;
  fields: Record<string, Field<T>>;
  defaults: readonly string[];
  rows(session: Session, ctx: Ctx<ListOptions & O, readonly []>): Promise<T[]>;
}

const chooseFields = <T>(ctx: Ctx<ListOptions, readonly []>, fields: Record<string, Field<T>>, defaults: readonly string[]): string[] => {
  const text = ctx.values.fields;
  if (text === undefined) return [...defaults];
  const adding = text.startsWith('+');
  const named = (adding ? text.slice(1) : text).split(',').map((f) => f.trim()).filter((f) => f !== '');
  if (named.length === 0) ctx.fail(`-o ${quote(text)}: expected FIELD,... such as ${defaults.slice(0, 3).join(',')}`);
  const unknown = named.find((f) => !(f in fields));
  if (unknown !== undefined) ctx.fail(`unknown field ${quote(unknown)}; known fields: ${Object.keys(fields).join(', ')}`);
  return adding ? [...defaults, ...named.filter((f) => !defaults.includes(f))] : named;
};

const chooseUnits = (ctx: Ctx<ListOptions, readonly []>): Units => {
  const text = ctx.values.units;
  // Ganeti's default: scaled for people, plain MiB once a separator says a program reads it.
  if (text === undefined) return ctx.values.separator === undefined ? 'h' : 'm';
  const units = UNIT_NAMES.find((u) => u === text.toLowerCase());
  if (units === undefined) ctx.fail(`--units ${quote(text)}: expected h (scaled: 512M, 2.0G, 1.5T), m, g or t`);
  return units;
};

const tableStyle = ({ values }: Ctx<ListOptions, readonly []>): TableStyle => ({
  headers: !values['no-headers'],
  ...(values.separator !== undefined && { separator: values.separator }),
});

/**
 * A listing in `gnt-instance list` fashion: a table of the chosen fields, or with
 * `--output json` every row whole, sizes in MiB, whatever -o and --units say.
 */
export const listCommand = <T, const O extends OptionSpec = {}>(spec: ListSpec<T, O>): Command => {
  const fieldHelp = Object.entries(spec.fields).map(([name, f]) => `  ${name.padEnd(14)} ${f.title}${f.size ? ' (a size)' : ''}`);
  const options: ListOptions & O = { ...LIST_OPTIONS, ...(spec.options ?? ({} as O)) };
  return viewCommand({
    path: spec.path,
    summary: spec.summary,
    args: [],
    options,
    usage: [spec.usage, '[-o FIELD,...|+FIELD,...] [--units h|m|g|t] [--no-headers] [--separator SEP] [--output json]'].filter(Boolean).join(' '),
    details: `Fields (default ${spec.defaults.join(',')}):\n${fieldHelp.join('\n')}`,
    prepare: (ctx) => ({ names: chooseFields(ctx, spec.fields, spec.defaults), units: chooseUnits(ctx), style: tableStyle(ctx) }),
    view: async (s, ctx) => {
      const rows = await spec.rows(s, ctx);
      if (s.format === 'json') {
        s.io.out(json(rows));
        return 0;
      }
      const { names, units, style } = ctx.prepared;
      const columns = names.map((n) => spec.fields[n]!);
      const cell = (f: Field<T>, row: T): Cell => {
        const value = f.get(row);
        return f.size && typeof value === 'number' ? formatSize(value, units) : value;
      };
      s.io.out(table(columns.map((f) => f.title), rows.map((r) => columns.map((f) => cell(f, r))), style));
      return 0;
    },
  });
};
