import { describe, expect, it } from 'vitest';
import { parseMeminfo } from '../../src/noded/facts.js';

describe('node facts: /proc/meminfo', () => {
  it('reads MemTotal and MemAvailable in MiB', () => {
    expect(parseMeminfo('MemTotal:       24576000 kB\nMemFree:         1024000 kB\nMemAvailable:   20480000 kB\n')).toEqual({ totalMib: 24000, freeMib: 20000 });
  });
  it('falls back to MemFree on a kernel without MemAvailable', () => {
    expect(parseMeminfo('MemTotal: 2048 kB\nMemFree: 1024 kB\n')).toEqual({ totalMib: 2, freeMib: 1 });
  });
  it('refuses a text without the memory lines', () => {
    expect(() => parseMeminfo('Buffers: 1 kB\n')).toThrow(/no MemTotal or MemAvailable/);
  });
});
