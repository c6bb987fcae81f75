import { describe, expect, it } from 'vitest';
import { DISK_TEMPLATES, DTS_EXT_MIRROR, DTS_INT_MIRROR, DTS_LOCAL, DTS_MIRRORED } from '../../src/domain/templates.js';

describe('disk template classes', () => {
  it('splits mirrored templates into internal and external, as the shared-storage design asks', () => {
    expect([...DTS_INT_MIRROR]).toEqual(['drbd']);
    expect([...DTS_EXT_MIRROR].sort()).toEqual(['blockdev', 'diskless', 'ext', 'sharedfile']);
    expect([...DTS_MIRRORED].sort()).toEqual([...DTS_INT_MIRROR, ...DTS_EXT_MIRROR].sort());
  });
  it('puts every template in exactly one of local, internally or externally mirrored', () => {
    for (const t of DISK_TEMPLATES) {
      expect([DTS_LOCAL.has(t), DTS_INT_MIRROR.has(t), DTS_EXT_MIRROR.has(t)].filter(Boolean)).toHaveLength(1);
    }
  });
});
