import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { deviceKeys, normaliseDevicePath, prefixProblem } from '../../src/domain/devices.js';
import { diskSchema } from '../../src/domain/events.js';

describe('device paths', () => {
  it('folds repeated and trailing slashes, so every spelling of a path compares equal', () => {
    for (const spelling of ['/prefix/lunA', '/prefix//lunA', '//prefix/lunA/', '/prefix///lunA//']) {
      expect(normaliseDevicePath(spelling)).toEqual(E.right('/prefix/lunA'));
    }
  });

  it.each(['prefix/lunA', '/prefix/./lunA', '/prefix/../etc/lunA', '/prefix/lun\0A', ''])('refuses %j instead of resolving it', (path) => {
    expect(normaliseDevicePath(path)).toEqual(E.left('must be an absolute path without . or .. components'));
  });

  it('treats prefixes as directories, and says why a path is not under one', () => {
    const prefixes = ['/prefix', '/dev/mapper/'];
    expect(prefixProblem(prefixes, '/prefix/lunA')).toBeUndefined();
    expect(prefixProblem(prefixes, '/dev/mapper/lun1')).toBeUndefined();
    expect(prefixProblem(prefixes, '/prefix2/lunB')).toBe(
      "'/prefix2/lunB' is not under an allowed block device prefix (/prefix, /dev/mapper): prefixes are directories, and '/prefix2' is not inside '/prefix'; see 'opl cluster modify --blockdev-prefixes'",
    );
    expect(prefixProblem(prefixes, '/prefix')).toMatch(/: that is the prefix directory itself, not a device inside it;/);
    expect(prefixProblem(prefixes, '/dev/sda')).toMatch(/\(\/prefix, \/dev\/mapper\): it is inside none of these directories;/);
    expect(prefixProblem(['/'], '/dev/sda')).toBeUndefined();
  });

  it('holds a device by its path and, once known, by its number', () => {
    expect(deviceKeys('/prefix//lunA', '7:3')).toEqual(['path /prefix/lunA', 'device 7:3']);
    expect(deviceKeys('/prefix/lunA', undefined)).toEqual(['path /prefix/lunA']);
  });

  it('reads disks recorded before device numbers were kept, and refuses a malformed number', () => {
    const old = { index: 0, sizeMib: 10, logicalId: '/dev/mapper/lun1', params: {}, adopted: true };
    expect(diskSchema.parse(old)).toEqual(old);
    expect(diskSchema.parse({ ...old, deviceNumber: '253:4' }).deviceNumber).toBe('253:4');
    expect(diskSchema.safeParse({ ...old, deviceNumber: '../x' }).success).toBe(false);
  });
});
