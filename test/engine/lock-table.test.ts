import { describe, expect, it } from 'vitest';
import type { LockRequest } from '../../src/domain/locks.js';
import { createLockTable } from '../../src/engine/lock-table.js';

const ex = (name: string): LockRequest => ({ level: 'instance', name, mode: 'exclusive' });
const sh = (name: string): LockRequest => ({ level: 'node', name, mode: 'shared' });

describe('lock table', () => {
  it('lets shared holders share and keeps exclusive holders alone', () => {
    const t = createLockTable();
    expect(t.tryAcquire('a', [sh('n1'), ex('i1')])).toEqual({ granted: true });
    expect(t.tryAcquire('b', [sh('n1'), ex('i2')])).toEqual({ granted: true });
    expect(t.tryAcquire('c', [ex('i1')])).toEqual({ granted: false, blockedBy: ['instance/i1'] });
    expect(t.tryAcquire('c', [{ level: 'node', name: 'n1', mode: 'exclusive' }])).toEqual({ granted: false, blockedBy: ['node/n1'] });
  });
  it('takes all of an opcode\'s locks or none', () => {
    const t = createLockTable();
    t.tryAcquire('a', [ex('i1')]);
    expect(t.tryAcquire('b', [ex('i2'), ex('i1')]).granted).toBe(false);
    expect(t.held().has('instance/i2')).toBe(false);
    t.release('a');
    expect(t.tryAcquire('b', [ex('i2'), ex('i1')]).granted).toBe(true);
    t.release('b');
    expect(t.held().size).toBe(0);
  });
});
