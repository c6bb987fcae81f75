import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import type { ClusterEvent, Failure } from '../../src/domain/events.js';
import { StorageTimeoutError, type DiskStorage, type DiskTarget } from '../../src/domain/ports/disk-storage.js';
import type { Hypervisor, HypervisorInstance } from '../../src/domain/ports/hypervisor.js';
import type { SagaStepRecord, SagaView } from '../../src/projections/job-view.js';
import { runSaga, type SagaRunnerDeps } from '../../src/engine/saga-runner.js';
import { planSaga } from '../../src/engine/sagas/index.js';
import { clusterWith, disk, instanceAdded } from './sagas/fixtures.js';

/** One call into the fake world, and whether the test wants it to fail. */
interface WorldCall {
  action: string;
  node: string;
  subject: string;
  callId?: string;
}
type Failing = (call: WorldCall) => Error | undefined;

/**
 * A hypervisor and a storage that answer like ours and write every call, and every
 * record the runner makes, on one timeline: the order is what these tests check.
 */
const fakeWorld = (failing: Failing = () => undefined) => {
  const timeline: string[] = [];
  const logs: { level: string; message: string }[] = [];
  const call = (action: string, node: string, subject: string, callId?: string) => {
    const c: WorldCall = { action, node, subject, ...(callId !== undefined && { callId }) };
    timeline.push(`${action} ${subject} on ${node}${callId ? ` [${callId}]` : ''}`);
    const error = failing(c);
    if (error) throw error;
  };
  const vm = (i: HypervisorInstance) => i.name;
  const vol = (t: DiskTarget) => `${t.instance.name}#${t.disk.index}(${t.disk.logicalId})`;
  const hypervisor: Hypervisor = {
    start: async (node, i) => call('start', node, vm(i)),
    stop: async (node, i) => call('stop', node, vm(i)),
    cleanup: async (node, i) => call('cleanup', node, vm(i)),
    running: async () => [],
  };
  let volumes = 0;
  const storage: DiskStorage = {
    create: async (t, ctx) => {
      call('create', t.nodeName, vol(t), ctx.callId);
      return { logicalId: t.disk.logicalId || `vol-${++volumes}`, sizeMib: t.disk.sizeMib };
    },
    grow: async (t, sizeMib, ctx) => {
      call(`grow-to-${sizeMib}`, t.nodeName, vol(t), ctx.callId);
      return { sizeMib };
    },
    remove: async (t, ctx) => call('remove', t.nodeName, vol(t), ctx.callId),
    rename: async (t, name, id, ctx) => {
      call(`rename-for-${name}`, t.nodeName, vol(t), ctx.callId);
      return { logicalId: id };
    },
    attach: async (t, ctx) => {
      call('attach', t.nodeName, vol(t), ctx.callId);
      return { device: `/dev/fake/${t.instance.name}/${t.disk.index}` };
    },
    detach: async (t, ctx) => call('detach', t.nodeName, vol(t), ctx.callId),
  };
  let ids = 0;
  const undo = (u: boolean) => (u ? ' undo' : '');
  const deps: SagaRunnerDeps = {
    ports: { hypervisor, storage: { file: storage, sharedfile: storage, ext: storage } },
    newId: () => `call-${++ids}`,
    // The intent carries the job log's line for the step; written with it, in one append.
    recordIntent: async (r) => {
      timeline.push(`intent ${r.step}${undo(r.undo)} ${r.callId}`);
      logs.push({ level: 'info', message: r.what });
    },
    recordSuccess: async (step, u) => void timeline.push(`succeeded ${step}${undo(u)}`),
    recordFailure: async (step, u, f, ignored) => void timeline.push(`failed ${step}${undo(u)}${ignored ? ' ignored' : ''}: ${f.kind}/${f.code}`),
    log: async (message, level = 'info') => void logs.push({ level, message }),
    storage: (callId) => ({ callId, recordCall: async () => undefined, log: async () => undefined }),
  };
  return { deps, timeline, logs };
};

const failOn = (action: string, node?: string, error: Error = new Error(`${action} refused`)): Failing => (c) => (c.action === action && (node === undefined || c.node === node) ? error : undefined);

/**
 * Four steps, three with an undo:
 *   1 create e2's ext disk (undo: remove the volume the create named)
 *   2 grow f1's disk to 2048 (no undo)
 *   3 start e2 on n1 (undo: stop it)
 *   4 attach f1's disk on n1 (undo: detach it)
 */
const fourSteps = () => {
  const events: ClusterEvent[] = [
    instanceAdded('e2', 'ext', [disk(0, '', { pool: 'nas1' })]),
    { type: 'DiskGrown', data: { instanceUuid: 'uuid-f1', index: 0, sizeMib: 2048 } },
    { type: 'InstanceStarted', data: { instanceUuid: 'uuid-e2', nodeUuid: 'node-n1' } },
    { type: 'DisksActivated', data: { instanceUuid: 'uuid-f1', nodeUuid: 'node-n1', devices: [''] } },
  ];
  return planSaga(clusterWith(instanceAdded('f1', 'file', [disk(0, 'f1/disk0')])), events);
};

const record = (step: number, callId: string, more: Partial<SagaStepRecord> = {}): SagaStepRecord => ({ step, undo: false, callId, what: `step ${step}`, effect: {}, ...more });
const resumed = (...steps: SagaStepRecord[]): SagaView => ({ sagaId: 'job-1/op-0', steps });

describe('saga runner', () => {
  it('records each step\'s intent before its call and its outcome after, in order', async () => {
    const world = fakeWorld();
    const result = await runSaga(world.deps, fourSteps());
    expect(world.timeline).toEqual([
      'intent 1 call-1',
      'create e2#0() on n1 [call-1]',
      'succeeded 1',
      'intent 2 call-2',
      'grow-to-2048 f1#0(f1/disk0) on n1 [call-2]',
      'succeeded 2',
      'intent 3 call-3',
      'start e2 on n1',
      'succeeded 3',
      'intent 4 call-4',
      'attach f1#0(f1/disk0) on n1 [call-4]',
      'succeeded 4',
    ]);
    expect(result).toEqual(E.right({ outcomes: [{ logicalId: 'vol-1', sizeMib: 1024 }, { sizeMib: 2048 }, {}, { device: '/dev/fake/f1/0' }] }));
    expect(world.logs.map((l) => l.message)).toContain('creating disk 0 of e2 (ext:nas1), 1024 MiB, on node n1');
  });

  it('on a failure at step k, undoes the done steps that have an undo, newest first, and clears their outcomes', async () => {
    const world = fakeWorld(failOn('attach'));
    const result = await runSaga(world.deps, fourSteps());
    expect(world.timeline.slice(9)).toEqual([
      'intent 4 call-4',
      'attach f1#0(f1/disk0) on n1 [call-4]',
      'failed 4: application/storage_error',
      'intent 3 undo call-5',
      'stop e2 on n1',
      'succeeded 3 undo',
      // Step 2 (grow) has no undo. The create's undo removes the volume the create named.
      'intent 1 undo call-6',
      'remove e2#0(vol-1) on n1 [call-6]',
      'succeeded 1 undo',
    ]);
    expect(result).toEqual(
      E.left({
        failure: { kind: 'application', code: 'storage_error', message: 'attaching disk 0 of f1 (file f1/disk0) on node n1 failed: attach refused' },
        owed: [],
        outcomes: [undefined, { sizeMib: 2048 }, undefined, undefined],
      }),
    );
    expect(world.logs.filter((l) => l.level === 'warning').map((l) => l.message)).toEqual(['undoing: stopping instance e2 on node n1', 'undoing: removing disk 0 of e2 (ext:nas1 vol-1)']);
  });

  it('says a hypervisor failure and a storage timeout apart', async () => {
    const hv = fakeWorld(failOn('start'));
    const hvResult = await runSaga(hv.deps, fourSteps());
    expect(E.isLeft(hvResult) && hvResult.left.failure).toEqual({ kind: 'application', code: 'hypervisor_error', message: 'starting instance e2 on node n1 failed: start refused' });
    expect(hv.timeline.slice(-4)).toEqual(['failed 3: application/hypervisor_error', 'intent 1 undo call-4', 'remove e2#0(vol-1) on n1 [call-4]', 'succeeded 1 undo']);

    const slow = fakeWorld(failOn('grow-to-2048', 'n1', new StorageTimeoutError('no answer in 30 s')));
    const slowResult = await runSaga(slow.deps, fourSteps());
    expect(E.isLeft(slowResult) && slowResult.left.failure.kind).toBe('timeout');
    expect(slow.timeline).toContain('failed 2: timeout/storage_error');
  });

  it('records a failed step that may fail as ignored, and goes on', async () => {
    const state = clusterWith(instanceAdded('s1', 'sharedfile', [disk(0, '/srv/shared/s1/disk0')]), { type: 'InstanceStarted', data: { instanceUuid: 'uuid-s1', nodeUuid: 'node-n1' } });
    const plan = planSaga(state, [{ type: 'InstanceMoved', data: { instanceUuid: 'uuid-s1', fromNodeUuid: 'node-n1', toNodeUuid: 'node-n2', how: 'failover', running: true, sourceOffline: false, ignoreSourceFailures: true } }]);
    const world = fakeWorld((c) => (c.node === 'n1' ? new Error('n1 does not answer') : undefined));
    const result = await runSaga(world.deps, plan);
    expect(world.timeline).toEqual([
      'intent 1 call-1',
      'attach s1#0(/srv/shared/s1/disk0) on n2 [call-1]',
      'succeeded 1',
      'intent 2 call-2',
      'stop s1 on n1',
      'failed 2 ignored: application/hypervisor_error',
      'intent 3 call-3',
      'start s1 on n2',
      'succeeded 3',
      'intent 4 call-4',
      'detach s1#0(/srv/shared/s1/disk0) on n1 [call-4]',
      'failed 4 ignored: application/storage_error',
    ]);
    expect(result).toEqual(E.right({ outcomes: [{ device: '/dev/fake/s1/0' }, undefined, {}, undefined] }));
    expect(world.logs.filter((l) => l.level === 'warning').map((l) => l.message)).toEqual([
      'stopping instance s1 on node n1 failed: n1 does not answer; going on without it (--ignore-consistency)',
      'detaching disk 0 of s1 (sharedfile /srv/shared/s1/disk0) from node n1 failed: n1 does not answer; going on without it (--ignore-consistency)',
    ]);
  });

  it('says an undo that fails must be cleaned up by hand, and still undoes the rest', async () => {
    const world = fakeWorld((c) => (c.action === 'attach' || c.action === 'stop' ? new Error(`${c.action} refused`) : undefined));
    const result = await runSaga(world.deps, fourSteps());
    expect(world.timeline.slice(11)).toEqual([
      'failed 4: application/storage_error',
      'intent 3 undo call-5',
      'stop e2 on n1',
      'failed 3 undo: application/hypervisor_error',
      'intent 1 undo call-6',
      'remove e2#0(vol-1) on n1 [call-6]',
      'succeeded 1 undo',
    ]);
    expect(world.logs.filter((l) => l.level === 'error').map((l) => l.message)).toEqual([
      'could not undo (stopping instance e2 on node n1): stopping instance e2 on node n1 failed: stop refused; clean it up by hand',
    ]);
    // The saga's failure is the step's, not the undo's.
    expect(E.isLeft(result) && result.left.failure.message).toMatch(/^attaching disk 0 of f1/);
  });
});

describe('saga runner, resuming what a lost engine began', () => {
  it('does not call a step with a recorded outcome again, and asks for a step with only an intent under the SAME call id', async () => {
    const world = fakeWorld();
    const resume = resumed(record(1, 'old-1', { outcome: { logicalId: 'vol-41', sizeMib: 1024 } }), record(2, 'old-2'));
    const result = await runSaga(world.deps, fourSteps(), resume);
    expect(world.timeline).toEqual([
      // No intent for step 2: the lost engine's stands, and its call id goes with the call.
      'grow-to-2048 f1#0(f1/disk0) on n1 [old-2]',
      'succeeded 2',
      'intent 3 call-1',
      'start e2 on n1',
      'succeeded 3',
      'intent 4 call-2',
      'attach f1#0(f1/disk0) on n1 [call-2]',
      'succeeded 4',
    ]);
    expect(world.logs[0]!.message).toBe('growing disk 0 of f1 (file f1/disk0) from 1024 to 2048 MiB (again: the engine that began it was lost)');
    expect(E.isRight(result) && result.right.outcomes[0]).toEqual({ logicalId: 'vol-41', sizeMib: 1024 });
  });

  it('takes a recorded failure as is, does not repeat a recorded undo, and re-runs an undo with only an intent under its call id', async () => {
    const failed: Failure = { kind: 'application', code: 'storage_error', message: 'attaching disk 0 of f1 failed: gone' };
    const world = fakeWorld();
    const resume = resumed(
      record(1, 'old-1', { outcome: { logicalId: 'vol-41', sizeMib: 1024 } }),
      record(2, 'old-2', { outcome: { sizeMib: 2048 } }),
      record(3, 'old-3', { outcome: {} }),
      record(4, 'old-4', { failure: failed, ignored: false }),
      record(3, 'old-u3', { undo: true, outcome: {} }),
      record(1, 'old-u1', { undo: true }),
    );
    const result = await runSaga(world.deps, fourSteps(), resume);
    expect(world.timeline).toEqual(['remove e2#0(vol-41) on n1 [old-u1]', 'succeeded 1 undo']);
    expect(result).toEqual(E.left({ failure: failed, owed: [], outcomes: [undefined, { sizeMib: 2048 }, undefined, undefined] }));
  });

  it('skips a step recorded as failed and ignored', async () => {
    const world = fakeWorld();
    const resume = resumed(
      record(1, 'old-1', { outcome: { logicalId: 'vol-41', sizeMib: 1024 } }),
      record(2, 'old-2', { failure: { kind: 'application', code: 'storage_error', message: 'x' }, ignored: true }),
    );
    const result = await runSaga(world.deps, fourSteps(), resume);
    expect(world.timeline.filter((l) => !l.startsWith('intent') && !l.startsWith('succeeded'))).toEqual(['start e2 on n1', 'attach f1#0(f1/disk0) on n1 [call-2]']);
    expect(E.isRight(result) && result.right.outcomes[1]).toBeUndefined();
  });

  it('giving up asks the call under way for its answer (same call id), then undoes it and everything done, and starts nothing new', async () => {
    const giveUp: Failure = { kind: 'engine_lost', code: 'engine_lost', message: 'the engine was lost 3 times running this opcode' };
    const world = fakeWorld();
    const resume = resumed(record(1, 'old-1', { outcome: { logicalId: 'vol-41', sizeMib: 1024 } }), record(2, 'old-2', { outcome: { sizeMib: 2048 } }), record(3, 'old-3'));
    const result = await runSaga(world.deps, fourSteps(), resume, giveUp);
    expect(world.timeline).toEqual([
      'start e2 on n1',
      'succeeded 3',
      'intent 3 undo call-1',
      'stop e2 on n1',
      'succeeded 3 undo',
      'intent 1 undo call-2',
      'remove e2#0(vol-41) on n1 [call-2]',
      'succeeded 1 undo',
    ]);
    expect(result).toEqual(E.left({ failure: giveUp, owed: [], outcomes: [undefined, { sizeMib: 2048 }, undefined, undefined] }));
  });
});

describe('a fence: a node powered off through its oob program before a failover', () => {
  const fenceAndMove = () =>
    planSaga(clusterWith(instanceAdded('f1', 'sharedfile', [disk(0, '/srv/shared/f1/disk0')]), { type: 'InstanceStarted', data: { instanceUuid: 'uuid-f1', nodeUuid: 'node-n1' } }), [
      { type: 'NodePowered', data: { nodeUuid: 'node-n1', command: 'power-off', program: '/sbin/power', fencedFor: 'uuid-f1' } },
      { type: 'InstanceMoved', data: { instanceUuid: 'uuid-f1', fromNodeUuid: 'node-n1', toNodeUuid: 'node-n2', how: 'failover', running: true, sourceOffline: true, ignoreSourceFailures: false, fenced: true } },
    ]);
  /** An oob port that writes on the world's timeline; `statuses`: what power-status says, in turn (the last one after that). */
  const withOob = (world: ReturnType<typeof fakeWorld>, statuses: boolean[], failing: (command: string) => boolean = () => false) => {
    const said = [...statuses];
    world.deps.ports.oob = {
      run: async (program, command, node) => {
        world.timeline.push(`oob ${command} ${node} (${program})`);
        if (failing(command)) throw new Error('it exited 4: BMC refused');
        return command === 'power-status' ? { powered: said.length > 1 ? said.shift()! : said[0]! } : {};
      },
    };
    return world;
  };

  it('powers the source off, checks it is off, and only then moves the instance: nothing is called on the source', async () => {
    const world = withOob(fakeWorld(), [false]);
    const plan = fenceAndMove();
    const result = await runSaga(world.deps, plan, undefined);
    expect(world.timeline.filter((l) => !l.startsWith('intent') && !l.startsWith('succeeded'))).toEqual([
      'oob power-off n1 (/sbin/power)',
      'oob power-status n1 (/sbin/power)',
      'attach f1#0(/srv/shared/f1/disk0) on n2 [call-3]',
      'start f1 on n2',
    ]);
    expect(E.isRight(result) && result.right.outcomes[1]).toEqual({ powered: false });
  });

  it('asks again while the program still says on, and fails the fence if it never says off: nothing moves, and nothing is kept', async () => {
    const world = withOob(fakeWorld(), [true]);
    const plan = fenceAndMove();
    const result = await runSaga(world.deps, plan, undefined);
    expect(world.timeline.filter((l) => l.startsWith('oob power-status'))).toHaveLength(10);
    expect(world.timeline.some((l) => l.startsWith('start') || l.startsWith('attach'))).toBe(false);
    expect(E.isLeft(result) && result.left.failure.message).toBe('checking through its oob program /sbin/power that node n1 is powered off failed: it says the node is still powered on');
    expect(E.isLeft(result) && plan.keptOnFailure(result.left.outcomes)).toEqual([]);
  }, 30_000);

  it('keeps the fence when the start on the target fails: the node was powered off, and the log says so', async () => {
    const world = withOob(fakeWorld(failOn('start', 'n2')), [true, false]);
    const plan = fenceAndMove();
    const result = await runSaga(world.deps, plan, undefined);
    expect(world.logs.map((l) => l.message)).toContain('node n1 is still powered on; asking again, up to 9 more times a second apart');
    expect(E.isLeft(result) && plan.keptOnFailure(result.left.outcomes).map((e) => e.type)).toEqual(['NodePowered']);
  });

  it('a lost engine given up on does not repeat an oob command under way', async () => {
    const giveUp: Failure = { kind: 'engine_lost', code: 'engine_lost', message: 'the engine was lost 3 times running this opcode' };
    const world = withOob(fakeWorld(), [false]);
    const result = await runSaga(world.deps, fenceAndMove(), resumed(record(1, 'old-1')), giveUp);
    expect(world.timeline).toEqual([]);
    expect(E.isLeft(result) && result.left.failure).toEqual(giveUp);
  });
});
