import { describe, expect, it } from 'vitest';
import type { JobView, SagaStepRecord } from '../../src/projections/job-view.js';
import { emptyViews, type Views } from '../../src/projections/views.js';
import { createLogicalIdClaims, pendingLogicalIds } from '../../src/engine/logical-id-claims.js';

const createStep = (step: number, id: string, over: Partial<SagaStepRecord> = {}): SagaStepRecord => ({
  step,
  undo: false,
  callId: `c${step}`,
  what: 'creating',
  effect: { kind: 'disk', action: 'create', pool: 'p', instanceUuid: 'i-b', disk: step - 1 },
  outcome: { logicalId: id },
  ...over,
});

/** A saga under way (job 4) whose steps made `steps`; its decision is in the cluster state. */
const viewsWith = (steps: SagaStepRecord[]): Views => {
  const views = emptyViews();
  views.cluster.sagas.set('job-4/op-0', { sagaId: 'job-4/op-0', jobId: 4, opIndex: 0, events: [], holds: [] });
  views.jobs.set(4, { id: 4, opcodes: [{ saga: { sagaId: 'job-4/op-0', steps } }] } as unknown as JobView);
  return views;
};

describe('pendingLogicalIds', () => {
  it('lists what the creates and renames of sagas under way answered, not what was undone or failed', () => {
    const views = viewsWith([
      createStep(1, 'v1'),
      createStep(2, 'v2'),
      { ...createStep(2, 'v2'), undo: true, effect: { kind: 'disk', action: 'remove', pool: 'p' } },
      createStep(3, 'ignored', { outcome: undefined, failure: { kind: 'application', code: 'storage_error', message: 'x' } as never }),
      { ...createStep(4, 'v4'), effect: { kind: 'disk', action: 'rename', pool: 'p', instanceUuid: 'i-b', disk: 3 } },
      { ...createStep(5, '/dev/x'), effect: { kind: 'disk', action: 'attach', pool: 'p', instanceUuid: 'i-b', disk: 0 } },
    ]);
    expect(pendingLogicalIds(views).map((p) => `${p.pool}/${p.logicalId}/${p.diskIndex}/${p.jobId}`)).toEqual(['p/v1/0/4', 'p/v4/3/4']);
  });
});

describe('createLogicalIdClaims', () => {
  it('gives an id to one disk only, until the call that took it is settled; sagas under way keep theirs', async () => {
    const views = viewsWith([createStep(1, 'v1')]);
    const claims = createLogicalIdClaims(async () => views);
    const a = { instanceUuid: 'i-a', diskIndex: 0 };
    const c = { instanceUuid: 'i-c', diskIndex: 0 };
    expect(await claims.claim({ callId: 'x', jobId: 5 }, 'p', 'v1', a)).toBe("the logical id 'v1' is already disk 0 being made by job 4 in pool 'p'");
    expect(await claims.claim({ callId: 'x', jobId: 5 }, 'p', 'v2', a)).toBeUndefined();
    expect(await claims.claim({ callId: 'y', jobId: 6 }, 'p', 'v2', c)).toBe("the logical id 'v2' is already disk 0 being made by job 5 in pool 'p'");
    expect(await claims.claim({ callId: 'y', jobId: 6 }, 'q', 'v2', c)).toBeUndefined();
    // The same disk asking again (a retried call) gets it.
    expect(await claims.claim({ callId: 'x2', jobId: 5 }, 'p', 'v2', a)).toBeUndefined();
    claims.release('x');
    claims.release('x2');
    expect(await claims.claim({ callId: 'y', jobId: 6 }, 'p', 'v2', c)).toBeUndefined();
  });

  it('decides two claims made at once for one id in favour of exactly one', async () => {
    const claims = createLogicalIdClaims(async () => emptyViews());
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) => claims.claim({ callId: `c${i}`, jobId: i }, 'p', 'same', { instanceUuid: `i-${i}`, diskIndex: 0 })),
    );
    expect(answers.filter((a) => a === undefined)).toHaveLength(1);
  });
});
