import { describe, expect, it } from 'vitest';
import { keyValues, table } from '../../src/cli/render.js';

describe('table', () => {
  it('pads each column to its widest cell, the header included', () => {
    expect(table(['Job', 'Status'], [[1, 'success'], [12345, null]])).toBe('Job    Status\n1      success\n12345  -\n');
  });

  it('renders 200,000 rows (an argument list that long is past what V8 takes; job list crashed past ~125,000)', () => {
    const rows = Array.from({ length: 200_000 }, (_, i) => [i, i % 2 ? 'success' : 'error']);
    const out = table(['ID', 'Status'], rows);
    const lines = out.split('\n');
    expect(lines).toHaveLength(200_002);
    expect(lines[1]).toBe('0       error');
    expect(lines[200_000]).toBe('199999  success');
  });
});

describe('keyValues', () => {
  it('aligns values after the longest key', () => expect(keyValues([['Name', 'x'], ['Longer key', ['a', 'b']]])).toBe('Name:       x\nLonger key: a, b\n'));
});
