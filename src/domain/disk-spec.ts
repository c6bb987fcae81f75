import * as E from 'fp-ts/lib/Either.js';
import type { Either } from 'fp-ts/lib/Either.js';

/** One `--disk N:key=value,…` argument, as Ganeti writes it. */
export interface DiskSpec {
  index: number;
  sizeMib?: number;
  adopt?: string;
  pool?: string;
  /** Everything else: parameters passed to a storage driver as EXTP_<KEY>. */
  params: Record<string, string>;
}

const UNITS: Record<string, number> = { '': 1, m: 1, g: 1024, t: 1024 * 1024 };

export const parseSizeMib = (text: string): number | undefined => {
  const match = /^(\d+(?:\.\d+)?)([mgt]?)(?:i?b)?$/i.exec(text.trim());
  if (!match) return undefined;
  const mib = Number(match[1]) * UNITS[match[2]!.toLowerCase()]!;
  return Number.isInteger(mib) && mib > 0 ? mib : undefined;
};

/** Parses `0:size=10G,pool=nas1,stripes=2` or `0:adopt=/dev/disk/by-id/x`; one line on error. */
export const parseDiskSpec = (text: string): Either<string, DiskSpec> => {
  const colon = text.indexOf(':');
  const indexText = colon === -1 ? '' : text.slice(0, colon);
  if (!/^\d+$/.test(indexText)) return E.left(`--disk '${text}': expected N:key=value[,key=value…], e.g. 0:size=10G`);
  const spec: DiskSpec = { index: Number(indexText), params: {} };
  for (const pair of text.slice(colon + 1).split(',')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) return E.left(`--disk '${text}': '${pair}' is not key=value`);
    const key = pair.slice(0, eq).trim().toLowerCase();
    const value = pair.slice(eq + 1).trim();
    if (value === '') return E.left(`--disk '${text}': ${key} has no value`);
    if (key === 'size') {
      const size = parseSizeMib(value);
      if (size === undefined) return E.left(`--disk '${text}': size '${value}' is not a positive size such as 512, 10G or 1T`);
      spec.sizeMib = size;
    } else if (key === 'adopt') spec.adopt = value;
    else if (key === 'pool') spec.pool = value;
    else if (/^[a-z][a-z0-9_]*$/.test(key)) spec.params[key] = value;
    else return E.left(`--disk '${text}': parameter name '${key}' must be letters, digits and _`);
  }
  if (spec.sizeMib !== undefined && spec.adopt !== undefined) {
    return E.left(`--disk '${text}': give size= to create a disk or adopt= to adopt one, not both`);
  }
  return E.right(spec);
};

/** Disk specs in index order, with no index given twice or skipped. */
export const parseDiskSpecs = (texts: readonly string[]): Either<string, DiskSpec[]> => {
  const specs: DiskSpec[] = [];
  for (const text of texts) {
    const parsed = parseDiskSpec(text);
    if (E.isLeft(parsed)) return parsed;
    specs.push(parsed.right);
  }
  specs.sort((a, b) => a.index - b.index);
  const wrong = specs.findIndex((s, i) => s.index !== i);
  if (wrong !== -1) return E.left(`--disk: disk indices must be 0, 1, 2… with none missing or repeated; got ${specs.map((s) => s.index).join(', ')}`);
  return E.right(specs);
};
