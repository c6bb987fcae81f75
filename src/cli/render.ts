/** Output in Ganeti's manner: aligned columns for people, `--output json` for programs. */
export type OutputFormat = 'table' | 'json';

export const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;

export const table = (headers: string[], rows: (string | number | boolean | null | undefined)[][]): string => {
  const cells = rows.map((r) => r.map((c) => (c === null || c === undefined ? '-' : String(c))));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return `${[line(headers), ...cells.map(line)].join('\n')}\n`;
};

export const keyValues = (pairs: [string, unknown][]): string => {
  const width = Math.max(...pairs.map(([k]) => k.length));
  return `${pairs
    .map(([k, v]) => `${`${k}:`.padEnd(width + 1)} ${Array.isArray(v) ? (v.length ? v.join(', ') : '-') : v === null || v === undefined ? '-' : String(v)}`)
    .join('\n')}\n`;
};
