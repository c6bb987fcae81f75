import { describe, expect, it } from 'vitest';
import { figuresOf, scoreWith, type NodeFigures } from '../../../src/allocators/builtin/score.js';

const node = (freeMemory: number, primaries: number, usedCpus = primaries): NodeFigures => ({
  freeMemory, totalMemory: 16384, freeDisk: 1000, totalDisk: 1000, usedCpus, totalCpus: 16, primaries, secondaries: 0,
});

describe('htools cluster score', () => {
  it('is zero for a perfectly even cluster and grows with imbalance', () => {
    const even = [node(8192, 4), node(8192, 4), node(8192, 4)];
    expect(scoreWith(figuresOf(even))).toBeCloseTo(0, 12);
    const uneven = [node(4096, 6), node(8192, 4), node(12288, 2)];
    expect(scoreWith(figuresOf(uneven))).toBeGreaterThan(1);
  });

  it('scores a change the same whether applied incrementally or recomputed from scratch', () => {
    const nodes = [node(4096, 6), node(8192, 4), node(12288, 2), node(1024, 9)];
    const moved: [NodeFigures, NodeFigures][] = [
      [nodes[0]!, node(6144, 5, 5)],
      [nodes[2]!, node(10240, 3, 3)],
    ];
    const incremental = scoreWith(figuresOf(nodes), moved);
    const fresh = scoreWith(figuresOf([node(6144, 5, 5), nodes[1]!, node(10240, 3, 3), nodes[3]!]));
    expect(incremental).toBeCloseTo(fresh, 12);
  });
});
