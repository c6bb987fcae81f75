import { escapeControl } from './text.js';

/** Output in Ganeti's manner: aligned columns for people, `--output json` for programs. */
export type OutputFormat = 'table' | 'json';
export type Cell = string | number | boolean | null | undefined;

/** Ganeti's --units: h scales each size (512M, 2.0G, 1.5T); m, g and t print bare numbers. */
export type Units = 'h' | 'm' | 'g' | 't';
export const UNIT_NAMES: readonly Units[] = ['h', 'm', 'g', 't'];

/** A number of MiB as Ganeti's tables show it. */
export const formatSize = (mib: number, units: Units): string => {
  if (units === 'm' || (units === 'h' && mib < 1024)) return `${Math.round(mib)}${units === 'h' ? 'M' : ''}`;
  if (units === 'g' || (units === 'h' && mib < 1024 * 1024)) return `${(mib / 1024).toFixed(1)}${units === 'h' ? 'G' : ''}`;
  return `${(mib / 1024 / 1024).toFixed(1)}${units === 'h' ? 'T' : ''}`;
};

export const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;

const text = (c: Cell): string => (c === null || c === undefined ? '-' : escapeControl(String(c)));

export interface TableStyle {
  /** Ganeti's --no-headers. */
  headers?: boolean;
  /** Ganeti's --separator: cells joined by it, not padded. */
  separator?: string;
}

export const table = (headers: string[], rows: Cell[][], style: TableStyle = {}): string => {
  const cells = rows.map((r) => r.map(text));
  const all = style.headers === false ? cells : [headers, ...cells];
  if (style.separator !== undefined) return all.map((r) => `${r.join(style.separator)}\n`).join('');
  // Folded, not spread: an argument list of 125,000 rows is past what V8 takes.
  const widths = headers.map((h, i) => cells.reduce((w, r) => Math.max(w, r[i]!.length), style.headers === false ? 0 : h.length));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return all.map((r) => `${line(r)}\n`).join('');
};

export const keyValues = (pairs: [string, unknown][]): string => {
  const width = pairs.reduce((w, [k]) => Math.max(w, k.length), 0);
  const value = (v: unknown) => (Array.isArray(v) ? (v.length ? v.map(String).join(', ') : '-') : v === null || v === undefined ? '-' : String(v));
  return pairs.map(([k, v]) => `${`${k}:`.padEnd(width + 1)} ${escapeControl(value(v))}\n`).join('');
};
