import { describe, expect, it } from 'vitest';
import type { ClusterState } from '../../../src/domain/cluster-state.js';
import type { ClusterEvent, EventOf } from '../../../src/domain/events.js';
import { planSaga } from '../../../src/engine/sagas/index.js';
import { clusterWith, disk, foldInto, hv, instanceAdded, target } from './fixtures.js';

const d0 = disk(0, '/srv/shared/s1/disk0');
const d1 = disk(1, '/srv/shared/s1/disk1');
const running = (): ClusterEvent[] => [instanceAdded('s1', 'sharedfile', [d0, d1]), { type: 'InstanceStarted', data: { instanceUuid: 'uuid-s1', nodeUuid: 'node-n1' } }];
const moved = (how: EventOf<'InstanceMoved'>['data']['how'], more: Partial<EventOf<'InstanceMoved'>['data']> = {}): EventOf<'InstanceMoved'> => ({
  type: 'InstanceMoved',
  data: { instanceUuid: 'uuid-s1', fromNodeUuid: 'node-n1', toNodeUuid: 'node-n2', how, running: true, sourceOffline: false, ignoreSourceFailures: false, ...more },
});
const offline = (node: string): ClusterEvent => ({ type: 'NodeModified', data: { nodeUuid: `node-${node}`, offline: true } });

const attach = (d: typeof d0, node: string, peers?: string[]) => ({ effect: { kind: 'disk', action: 'attach', target: target('s1', 'sharedfile', d, node, peers) }, undo: expect.any(Function), part: 0 });
const detach = (d: typeof d0, node: string, more: object = {}, peers?: string[]) => ({ effect: { kind: 'disk', action: 'detach', target: target('s1', 'sharedfile', d, node, peers) }, ...more, part: 0 });
/** A move's last steps: past its point of no return, so a source that cannot let go is reported and the move stands. */
const sourceDetach = (d: typeof d0) => detach(d, 'n1', { mayFail: true, goOnBecause: "the instance runs on n2; 'opl instance migrate s1 --cleanup' lets go of it later" });
const hvStep = (action: string, node: string, more: object = {}) => ({ effect: { kind: 'hypervisor', action, nodeName: node, instance: hv('s1') }, ...more, part: 0 });

describe('move saga', () => {
  it('live migration: attaches on the target, starts there, cleans up and detaches the source', () => {
    const plan = planSaga(clusterWith(...running()), [moved('live-migration')]);
    expect(plan.steps).toEqual([attach(d0, 'n2'), attach(d1, 'n2'), hvStep('start', 'n2', { undo: expect.any(Function) }), hvStep('cleanup', 'n1'), sourceDetach(d0), sourceDetach(d1)]);
    // Undone, the target is taken back: the instance stopped there, its disks detached there.
    expect(plan.steps[2]!.undo!({})).toEqual({ kind: 'hypervisor', action: 'stop', nodeName: 'n2', instance: hv('s1') });
    expect(plan.steps[1]!.undo!({ device: '/dev/x' })).toEqual({ kind: 'disk', action: 'detach', target: target('s1', 'sharedfile', d1, 'n2') });
    expect(plan.finish(plan.steps.map(() => ({})))).toEqual([moved('live-migration')]);
  });

  it('non-live migration: stops the source first; undone, restarts it there', () => {
    const plan = planSaga(clusterWith(...running()), [moved('non-live-migration')]);
    expect(plan.steps).toEqual([
      attach(d0, 'n2'),
      attach(d1, 'n2'),
      hvStep('stop', 'n1', { undo: expect.any(Function) }),
      hvStep('start', 'n2', { undo: expect.any(Function) }),
      sourceDetach(d0),
      sourceDetach(d1),
    ]);
    expect(plan.steps[2]!.undo!({})).toEqual({ kind: 'hypervisor', action: 'start', nodeName: 'n1', instance: hv('s1') });
    expect(plan.steps[3]!.undo!({})).toEqual({ kind: 'hypervisor', action: 'stop', nodeName: 'n2', instance: hv('s1') });
  });

  it('failover of a running instance: stop on the source (restarted there if undone), start on the target', () => {
    const plan = planSaga(clusterWith(...running()), [moved('failover')]);
    expect(plan.steps).toEqual([
      attach(d0, 'n2'),
      attach(d1, 'n2'),
      hvStep('stop', 'n1', { undo: expect.any(Function) }),
      hvStep('start', 'n2', { undo: expect.any(Function) }),
      sourceDetach(d0),
      sourceDetach(d1),
    ]);
    expect(plan.steps[2]!.undo!({})).toEqual({ kind: 'hypervisor', action: 'start', nodeName: 'n1', instance: hv('s1') });
  });

  it('failover of a stopped instance only moves its disks', () => {
    const plan = planSaga(clusterWith(instanceAdded('s1', 'sharedfile', [d0, d1])), [moved('failover', { running: false })]);
    expect(plan.steps).toEqual([attach(d0, 'n2'), attach(d1, 'n2'), sourceDetach(d0), sourceDetach(d1)]);
  });

  it('failover with --ignore-consistency: the source\'s steps may fail, the target\'s may not', () => {
    const plan = planSaga(clusterWith(...running()), [moved('failover', { ignoreSourceFailures: true })]);
    expect(plan.steps).toEqual([
      attach(d0, 'n2'),
      attach(d1, 'n2'),
      hvStep('stop', 'n1', { undo: expect.any(Function), mayFail: true }),
      hvStep('start', 'n2', { undo: expect.any(Function) }),
      detach(d0, 'n1', { mayFail: true }),
      detach(d1, 'n1', { mayFail: true }),
    ]);
  });

  it('failover from an offline source does not call it at all; its peers leave it out', () => {
    const state = clusterWith(...running(), offline('n1'));
    const plan = planSaga(state, [moved('failover', { sourceOffline: true, ignoreSourceFailures: true })]);
    expect(plan.steps).toEqual([attach(d0, 'n2', ['n2', 'n3']), attach(d1, 'n2', ['n2', 'n3']), hvStep('start', 'n2', { undo: expect.any(Function) })]);
  });

  it('a live migration recorded by migrate --cleanup from an offline source does not call the source', () => {
    // The instance was seen running on n2 alone while its primary n1 is offline.
    const state = clusterWith(...running(), offline('n1'));
    const plan = planSaga(state, [moved('live-migration', { sourceOffline: true, ignoreSourceFailures: true })]);
    expect(plan.steps).toEqual([attach(d0, 'n2', ['n2', 'n3']), attach(d1, 'n2', ['n2', 'n3']), hvStep('start', 'n2', { undo: expect.any(Function) })]);
  });

  it('a diskless instance only moves on the hypervisors', () => {
    const state = clusterWith(instanceAdded('s1', 'diskless', []), { type: 'InstanceStarted', data: { instanceUuid: 'uuid-s1', nodeUuid: 'node-n1' } });
    expect(planSaga(state, [moved('live-migration')]).steps).toEqual([hvStep('start', 'n2', { undo: expect.any(Function) }), hvStep('cleanup', 'n1')]);
  });
});

describe('cleanup saga (migrate --cleanup)', () => {
  it('stops stray copies and detaches stray disks on each node; an offline node\'s steps may fail', () => {
    const state = foldInto(clusterWith(...running()), offline('n3'));
    const event: ClusterEvent = { type: 'InstanceCleanedUp', data: { instanceUuid: 'uuid-s1', nodeUuids: ['node-n2', 'node-n3'] } };
    const plan = planSaga(state, [event]);
    const peers = ['n1', 'n2'];
    expect(plan.steps).toEqual([
      hvStep('cleanup', 'n2'),
      detach(d0, 'n2', {}, peers),
      detach(d1, 'n2', {}, peers),
      hvStep('cleanup', 'n3', { mayFail: true }),
      detach(d0, 'n3', { mayFail: true }, peers),
      detach(d1, 'n3', { mayFail: true }, peers),
    ]);
    expect(plan.steps.every((s) => s.undo === undefined)).toBe(true);
    expect(plan.finish([{}, {}, {}, undefined, undefined, undefined])).toEqual([event]);
  });

  describe('a running kvm guest, live', () => {
    /** n1 and n2 with daemons, as `node add --address` records them. */
    const withDaemons = (state: ClusterState): ClusterState => {
      for (const [i, n] of ['n1', 'n2'].entries()) state.nodes.get(`node-${n}`)!.address = { host: `10.0.0.${i + 1}`, port: 1811 };
      return state;
    };
    const kvmRunning = (): ClusterEvent[] => [
      instanceAdded('s1', 'sharedfile', [d0, d1], 'n1', { hypervisor: 'kvm' }),
      { type: 'InstanceStarted', data: { instanceUuid: 'uuid-s1', nodeUuid: 'node-n1' } },
    ];
    const kvm = { ...hv('s1'), hypervisor: 'kvm' as const };
    const resolved = (step: { effect: unknown }, earlier: object[]) => (typeof step.effect === 'function' ? (step.effect as (e: object[]) => unknown)(earlier) : step.effect);

    it('attaches on the target, has it wait with the disks the attach answered, sends, confirms, and only then lets go of the source', () => {
      const plan = planSaga(withDaemons(clusterWith(...kvmRunning())), [moved('live-migration')]);
      const attached = [{ device: '/srv/shared/s1/disk0' }, { device: '/srv/shared/s1/disk1' }];
      const effects = plan.steps.map((step, i) => resolved(step, [...attached, { uri: 'tcp:10.0.0.2:4444' }, {}, {}].slice(0, i)));
      expect(effects).toEqual([
        { kind: 'disk', action: 'attach', target: target('s1', 'sharedfile', d0, 'n2') },
        { kind: 'disk', action: 'attach', target: target('s1', 'sharedfile', d1, 'n2') },
        { kind: 'hypervisor', action: 'accept', nodeName: 'n2', instance: { ...kvm, disks: ['/srv/shared/s1/disk0', '/srv/shared/s1/disk1'] }, address: '10.0.0.2' },
        { kind: 'hypervisor', action: 'send', nodeName: 'n1', instance: kvm, uri: 'tcp:10.0.0.2:4444', toNodeName: 'n2' },
        { kind: 'hypervisor', action: 'confirm', nodeName: 'n2', instance: kvm },
        { kind: 'hypervisor', action: 'cleanup', nodeName: 'n1', instance: kvm },
        { kind: 'disk', action: 'detach', target: target('s1', 'sharedfile', d0, 'n1') },
        { kind: 'disk', action: 'detach', target: target('s1', 'sharedfile', d1, 'n1') },
      ]);
      // Undone before the point of no return: the target's waiting QEMU is ended, the source runs again (unless the target runs the guest).
      expect(plan.steps[2]!.undo!({ uri: 'tcp:10.0.0.2:4444' })).toEqual({ kind: 'hypervisor', action: 'withdraw', nodeName: 'n2', instance: kvm });
      expect(plan.steps[3]!.undo!({})).toEqual({ kind: 'hypervisor', action: 'resume', nodeName: 'n1', instance: kvm, destination: 'n2' });
      expect(plan.steps[4]!.undo).toBeUndefined();
      expect(plan.steps[5]!.undo).toBeUndefined();
    });

    it('moves not live by stopping on the source and starting on the target with its disks', () => {
      const plan = planSaga(withDaemons(clusterWith(...kvmRunning())), [moved('non-live-migration')]);
      const effects = plan.steps.map((step, i) => resolved(step, [{ device: '/d0' }, { device: '/d1' }, {}].slice(0, i)));
      expect(effects.slice(2, 4)).toEqual([
        { kind: 'hypervisor', action: 'stop', nodeName: 'n1', instance: kvm },
        { kind: 'hypervisor', action: 'start', nodeName: 'n2', instance: { ...kvm, disks: ['/d0', '/d1'] } },
      ]);
    });

    it('found on the target by migrate --cleanup: nothing is sent again; its start there finds it, the source copy is let go of', () => {
      const plan = planSaga(withDaemons(clusterWith(...kvmRunning())), [moved('live-migration', { found: true })]);
      const effects = plan.steps.map((step, i) => resolved(step, [{ device: '/d0' }, { device: '/d1' }, {}].slice(0, i)));
      expect(effects.slice(2, 4)).toEqual([
        { kind: 'hypervisor', action: 'start', nodeName: 'n2', instance: { ...kvm, disks: ['/d0', '/d1'] } },
        { kind: 'hypervisor', action: 'cleanup', nodeName: 'n1', instance: kvm },
      ]);
      expect(effects.some((e) => ['accept', 'send', 'confirm'].includes((e as { action: string }).action))).toBe(false);
    });
  });
});
