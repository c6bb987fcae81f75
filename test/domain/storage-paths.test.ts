import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { fileDiskPath, isInside } from '../../src/domain/storage-paths.js';

describe('file disk paths', () => {
  it('puts disk N of an instance at DIR/INSTANCE/diskN', () => {
    expect(fileDiskPath('/srv/shared', 'web1', 0)).toEqual(E.right('/srv/shared/web1/disk0'));
    expect(fileDiskPath('/srv/shared/', 'web.example.com', 3)).toEqual(E.right('/srv/shared/web.example.com/disk3'));
  });
  it.each([
    ['a slash', 'a/b', /contains '\/'/],
    ['a parent reference', '..', /is '\.\.'/],
    ['a current-directory reference', '.', /is '\.'/],
    ['a NUL byte', 'a\0b', /contains a NUL byte/],
    ['nothing', '', /is empty/],
  ])('refuses an instance name with %s', (_what, name, message) => {
    const result = fileDiskPath('/srv/shared', name, 0);
    expect(E.isLeft(result) && result.left.message).toMatch(message);
  });
  it('refuses a relative storage directory and a negative index', () => {
    expect(E.isLeft(fileDiskPath('srv', 'a', 0))).toBe(true);
    expect(E.isLeft(fileDiskPath('/srv', 'a', -1))).toBe(true);
  });
  it('knows inside from outside', () => {
    expect(isInside('/srv/shared', '/srv/shared/a/disk0')).toBe(true);
    expect(isInside('/srv/shared', '/srv/shared')).toBe(false);
    expect(isInside('/srv/shared', '/srv/sharedx/a')).toBe(false);
    expect(isInside('/srv/shared', '/srv/shared/../etc/passwd')).toBe(false);
  });
});
