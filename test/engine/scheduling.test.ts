import { describe, expect, it } from 'vitest';
import { newJobView, type JobView } from '../../src/projections/job-view.js';
import { byPriority, nextOpcode, readiness } from '../../src/engine/scheduling.js';

const job = (id: number, priority = 0, dependsOn: number[] = [], status: JobView['status'] = 'queued'): JobView => ({
  ...newJobView(id, {
    opcodes: [{ type: 'OP_TEST_DELAY', durationSeconds: 0, lockInstances: [], fail: false }],
    priority,
    dependsOn,
    actor: 't',
    submittedAt: '2026-01-01T00:00:00Z',
  }),
  status,
});

describe('scheduling rules', () => {
  it('orders by priority, then by submission', () => {
    expect([job(1, 5), job(2, -3), job(3, 0), job(4, -3)].sort(byPriority).map((j) => j.id)).toEqual([2, 4, 3, 1]);
  });
  it('runs a job only once its dependencies succeeded, and dooms it if one did not', () => {
    const jobs = new Map([[1, job(1, 0, [], 'success')], [2, job(2, 0, [], 'running')], [3, job(3, 0, [], 'error')]]);
    expect(readiness(job(9, 0, [1]), jobs)).toEqual({ kind: 'ready' });
    expect(readiness(job(9, 0, [1, 2]), jobs)).toEqual({ kind: 'blocked', on: [2] });
    expect(readiness(job(9, 0, [3]), jobs)).toMatchObject({ kind: 'doomed', reason: expect.stringContaining("ended in 'error'") });
    expect(readiness(job(9, 0, [5]), jobs)).toMatchObject({ kind: 'doomed', reason: expect.stringContaining('does not exist') });
  });
  it('dooms a job that depends on itself or on a later job, instead of leaving it waiting forever', () => {
    const jobs = new Map([[1, job(1, 0, [], 'success')], [9, job(9, 0, [9])], [10, job(10, 0, [], 'running')]]);
    expect(readiness(job(9, 0, [9]), jobs)).toEqual({ kind: 'doomed', reason: 'job 9 depends on job 9, which was not submitted before it' });
    expect(readiness(job(9, 0, [1, 10]), jobs)).toEqual({ kind: 'doomed', reason: 'job 9 depends on job 10, which was not submitted before it' });
    expect(readiness(job(9, 0, [42]), jobs)).toMatchObject({ kind: 'doomed', reason: expect.stringContaining('not submitted before it') });
  });
  it('finds the first opcode that has not succeeded', () => {
    const j = job(1);
    expect(nextOpcode(j)).toBe(0);
    j.opcodes[0]!.status = 'success';
    expect(nextOpcode(j)).toBeUndefined();
  });
});
