import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { oobPrograms } from '../../../src/adapters/oob/oob-program.js';

/** Real programs, run as Ganeti runs them: PROGRAM COMMAND NODE. */
const dir = mkdtempSync(join(tmpdir(), 'opl-oob-'));
const program = (name: string, body: string): string => {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\necho "$@" >> ${join(dir, 'calls')}\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
};
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('an oob program', () => {
  const oob = oobPrograms({ timeoutMs: 2_000 });

  it('is given the command and the node, and its power status is read', async () => {
    const status = program('status', `[ "$1" = power-status ] && echo '{"powered": false}'; exit 0`);
    expect(await oob.run(status, 'power-status', 'n1')).toEqual({ powered: false });
    expect(await oob.run(status, 'power-off', 'n1')).toEqual({});
    expect(readFileSync(join(dir, 'calls'), 'utf8')).toBe('power-status n1\npower-off n1\n');
  });

  it('is not believed when its power status is not the JSON Ganeti defines', async () => {
    const loose = program('loose', `echo 'powered: no'`);
    await expect(oob.run(loose, 'power-status', 'n1')).rejects.toThrow('it printed "powered: no", not {"powered": true} or {"powered": false}');
    const stringly = program('stringly', `echo '{"powered": "false"}'`);
    await expect(oob.run(stringly, 'power-status', 'n1')).rejects.toThrow(/printed "\{\\"powered\\": \\"false\\"\}", not/);
  });

  it('fails with its exit status and the first line it wrote on stderr', async () => {
    const failing = program('failing', `echo 'BMC 10.0.0.9: connection refused' >&2; echo more >&2; exit 3`);
    await expect(oob.run(failing, 'power-off', 'n2')).rejects.toThrow('it exited 3: BMC 10.0.0.9: connection refused');
  });

  it('is ended when it takes longer than its timeout', async () => {
    const slow = program('slow', 'exec sleep 30');
    await expect(oob.run(slow, 'power-off', 'n3')).rejects.toThrow('it gave no answer within 2 s and was ended');
  });

  it('that cannot be run says why', async () => {
    const path = join(dir, 'not-executable');
    writeFileSync(path, '#!/bin/sh\n');
    await expect(oob.run(path, 'power-on', 'n1')).rejects.toThrow('it is not executable');
    await expect(oob.run(join(dir, 'missing'), 'power-on', 'n1')).rejects.toThrow('there is no such file');
    await expect(oob.run(dir, 'power-on', 'n1')).rejects.toThrow('it is a directory, not a program');
  });

  it('that dies by a signal, or prints more than a power status could be, is not believed', async () => {
    await expect(oob.run(program('suicide', 'kill -9 $$'), 'power-off', 'n1')).rejects.toThrow('it was ended by a signal');
    await expect(oob.run(program('chatty', `head -c 70000 /dev/zero | tr '\\0' '\\n'; echo '{"powered": true}'`), 'power-status', 'n1')).rejects.toThrow('it printed more than 64 KiB; a power status is one line');
  });
});
