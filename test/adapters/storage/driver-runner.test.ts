import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { driverScripts, findDriver } from '../../../src/adapters/storage/driver-runner.js';

const work = mkdtempSync(join(tmpdir(), 'opl-driver-runner-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("a driver's executables", () => {
  it('are files we may execute: a directory named like an action, or a file without x, is no action', async () => {
    const dir = join(work, 'odd');
    mkdirSync(join(dir, 'create'), { recursive: true }); // searchable, so X_OK holds; running it would fail
    writeFileSync(join(dir, 'remove'), '#!/bin/sh\n');
    writeFileSync(join(dir, 'attach'), '#!/bin/sh\n');
    chmodSync(join(dir, 'attach'), 0o755);
    const scripts = await driverScripts(dir);
    expect(await scripts.script('create')).toBeUndefined();
    expect(await scripts.script('remove')).toBeUndefined();
    expect(await scripts.script('attach')).toBe(join(dir, 'attach'));
  });

  it('are found by name in the first directory of the search path that has one', async () => {
    mkdirSync(join(work, 'a'));
    mkdirSync(join(work, 'b', 'd'), { recursive: true });
    writeFileSync(join(work, 'a', 'd'), 'a file, not a driver');
    expect(await findDriver('d', [join(work, 'a'), join(work, 'b')])).toBe(join(work, 'b', 'd'));
    expect(await findDriver('d', [join(work, 'a')])).toBeUndefined();
  });
});
