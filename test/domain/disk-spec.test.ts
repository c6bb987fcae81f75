import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { parseDiskSpec, parseDiskSpecs } from '../../src/domain/disk-spec.js';

describe('--disk specifications', () => {
  it('reads sizes, pools, adoption and driver parameters', () => {
    expect(parseDiskSpec('0:size=10G')).toEqual(E.right({ index: 0, sizeMib: 10240, params: {} }));
    expect(parseDiskSpec('1:size=512,pool=nas1,stripes=2')).toEqual(E.right({ index: 1, sizeMib: 512, pool: 'nas1', params: { stripes: '2' } }));
    expect(parseDiskSpec('0:adopt=/dev/disk/by-id/wwn-0x5000')).toEqual(E.right({ index: 0, adopt: '/dev/disk/by-id/wwn-0x5000', params: {} }));
  });
  it.each([
    ['size=1G', /expected N:key=value/],
    ['0:size', /'size' is not key=value/],
    ['0:size=', /size has no value/],
    ['0:size=-1', /is not a positive size/],
    ['0:size=lots', /is not a positive size/],
    ['0:size=1G,adopt=/dev/x', /not both/],
    ['0:bad-key=1', /parameter name 'bad-key'/],
  ])('refuses %s', (text, message) => {
    const r = parseDiskSpec(text);
    expect(E.isLeft(r) && r.left).toMatch(message);
  });
  it('wants indices 0, 1, 2… with none missing or repeated', () => {
    expect(E.isRight(parseDiskSpecs(['1:size=1', '0:size=2']))).toBe(true);
    expect(parseDiskSpecs(['0:size=1', '2:size=1'])).toEqual(E.left('--disk: disk indices must be 0, 1, 2… with none missing or repeated; got 0, 2'));
    expect(E.isLeft(parseDiskSpecs(['0:size=1', '0:size=1']))).toBe(true);
  });
});
