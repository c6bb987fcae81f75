import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The version in package.json, found by walking up from this module: it is two levels
 * up from dist/cli/ and one from the bundle, dist/opl.mjs.
 */
export const version = (): string => {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'opledger' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // not here: look one level up
    }
    const parent = dirname(dir);
    if (parent === dir) return 'unknown';
    dir = parent;
  }
};
