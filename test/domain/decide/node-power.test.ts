import { describe, it } from 'vitest';
import type { EventOf } from '../../../src/domain/events.js';
import { given } from '../decider-spec.js';
import { clusterInitialized, groupAdded, instanceUuid, nodeAdded, nodeModified, nodeUuid, running, sharedFileDisk } from './history.js';

const OOB = '/usr/local/sbin/power';
const power = (command: 'power-on' | 'power-off' | 'power-cycle' | 'power-status', ...nodeNames: string[]) => ({ type: 'OP_OOB_COMMAND', command, nodeNames }) as const;
const powered = (node: string, command: EventOf<'NodePowered'>['data']['command'], over: Partial<EventOf<'NodePowered'>['data']> = {}): EventOf<'NodePowered'> => ({
  type: 'NodePowered',
  data: { nodeUuid: nodeUuid(node), command, program: OOB, ...over },
});
const failover = (over: { ignoreConsistency?: boolean; sourceAnswered?: boolean } = {}) => ({ type: 'OP_INSTANCE_FAILOVER', instanceName: 'sf1', targetNode: 'n2', ...over }) as const;
const moved = (over: Partial<EventOf<'InstanceMoved'>['data']> = {}): EventOf<'InstanceMoved'> => ({
  type: 'InstanceMoved',
  data: { instanceUuid: instanceUuid('sf1'), fromNodeUuid: nodeUuid('n1'), toNodeUuid: nodeUuid('n2'), how: 'failover', running: true, sourceOffline: false, ignoreSourceFailures: false, ...over },
});

/** n1 and n2 run opl-noded; n3 is local, on the engine's host. */
const nodes = (oobProgram?: string) => [
  clusterInitialized({ sharedFileStorageDir: '/srv/shared', ...(oobProgram && { oobProgram }) }),
  groupAdded('g1'),
  nodeAdded('n1', 'g1', { address: { host: '10.0.0.1', port: 1811 } }),
  nodeAdded('n2', 'g1', { address: { host: '10.0.0.2', port: 1811 } }),
  nodeAdded('n3', 'g1'),
  ...running('sf1', 'n1', { diskTemplate: 'sharedfile', disks: [sharedFileDisk('sf1', 0, 64)] }),
];
const withOob = nodes(OOB);
const withoutOob = nodes();

describe('OP_OOB_COMMAND', () => {
  it('powers an offline node off with the cluster’s program', () => given(...withOob, nodeModified('n1', { offline: true })).when(power('power-off', 'n1')).then(powered('n1', 'power-off')));

  it('refuses to power off a node that is not offline, as Ganeti does', () =>
    given(...withOob).when(power('power-off', 'n1')).thenRefused('wrong_state', "node 'n1' is not offline; mark it offline first ('opl node modify n1 --offline yes'), then power it off"));

  it('powers nodes on and cycles them, a node’s own program over the cluster’s', () => {
    given(...withOob).when(power('power-on', 'n1', 'n2', 'n1')).then(powered('n1', 'power-on'), powered('n2', 'power-on'));
    given(...withOob, nodeModified('n2', { oobProgram: '/opt/bmc' })).when(power('power-cycle', 'n2')).then(powered('n2', 'power-cycle', { program: '/opt/bmc' }));
  });

  it("refuses to power off or cycle a local node: it is the engine's own host", () => {
    given(...withOob, nodeModified('n3', { offline: true })).when(power('power-off', 'n3')).thenRefused('wrong_state', "node 'n3' is a local node, on this engine's host: it is not powered off through an oob program");
    given(...withOob).when(power('power-cycle', 'n3')).thenRefused('wrong_state', "node 'n3' is a local node, on this engine's host: it is not powered off through an oob program");
  });

  it('refuses a node without a program, and a node that does not exist', () => {
    given(...withoutOob).when(power('power-on', 'n1')).thenRefused('invalid_argument', "node 'n1' has no oob program; give it one with 'opl node modify n1 --node-parameters oob_program=PATH' (or the cluster's, on 'opl cluster modify')");
    given(...withOob, nodeModified('n1', { oobProgram: '' })).when(power('power-on', 'n9')).thenRefused('not_found', "node 'n9' does not exist");
  });

  it('leaves power-status to the engine: nothing is decided', () => given(...withOob).when(power('power-status', 'n1')).thenRefused('invalid_argument', 'power-status records nothing: the engine runs it'));
});

describe('OP_NODE_SET_PARAMS on a powered-off node', () => {
  it('refuses to bring it online before it is powered on', () =>
    given(...withOob, nodeModified('n1', { offline: true }), powered('n1', 'power-off')).when({ type: 'OP_NODE_SET_PARAMS', nodeName: 'n1', offline: false }).thenRefused('wrong_state', "node 'n1' is powered off; power it on first ('opl node power on n1'), or say it is on with --node-powered yes"));

  it("takes the operator's word on its power when the program cannot say (Ganeti's --node-powered)", () => {
    given(...withOob, nodeModified('n1', { offline: true }), powered('n1', 'power-off'))
      .when({ type: 'OP_NODE_SET_PARAMS', nodeName: 'n1', offline: false, powered: true })
      .then(nodeModified('n1', { offline: false, powered: true }));
    given(...withOob).when({ type: 'OP_NODE_SET_PARAMS', nodeName: 'n1', powered: false }).thenRefused('wrong_state', "node 'n1' is not offline; a node powered off is offline (give --offline yes with --node-powered no)");
    given(...withOob).when({ type: 'OP_NODE_SET_PARAMS', nodeName: 'n3', offline: true, powered: false }).thenRefused('wrong_state', "node 'n3' is a local node, on this engine's host: it is never powered off");
    given(...withOob).when({ type: 'OP_NODE_SET_PARAMS', nodeName: 'n1', offline: true, drained: true, powered: false }).thenRefused('invalid_argument', 'node modify: a node is either offline or drained, not both');
  });

  it('brings it online once powered on', () =>
    given(...withOob, nodeModified('n1', { offline: true }), powered('n1', 'power-off'), powered('n1', 'power-on'))
      .when({ type: 'OP_NODE_SET_PARAMS', nodeName: 'n1', offline: false })
      .then(nodeModified('n1', { offline: false })));
});

describe('OP_INSTANCE_FAILOVER from a source that may still run the guest', () => {
  it('fences a silent source through its oob program before the instance moves', () =>
    given(...withOob).when(failover({ sourceAnswered: false })).then(powered('n1', 'power-off', { fencedFor: instanceUuid('sf1') }), moved({ sourceOffline: true, fenced: true })));

  it('fences a silent source with --ignore-consistency too: the program makes it safe', () =>
    given(...withOob)
      .when(failover({ sourceAnswered: false, ignoreConsistency: true }))
      .then(powered('n1', 'power-off', { fencedFor: instanceUuid('sf1') }), moved({ sourceOffline: true, fenced: true, ignoreSourceFailures: true })));

  it("does not fence a source that answers, nor one marked offline (the operator's word, and the way out when its power cannot be had)", () => {
    given(...withOob).when(failover({ sourceAnswered: true })).then(moved());
    given(...withOob, nodeModified('n1', { offline: true })).when(failover()).then(moved({ sourceOffline: true }));
  });

  it('refuses a silent source without a program, unless --ignore-consistency says so', () => {
    given(...withoutOob)
      .when(failover({ sourceAnswered: false }))
      .thenRefused(
        'wrong_state',
        "node 'n1' does not answer and may still run 'sf1': mark it offline once you know it is down ('opl node modify n1 --offline yes'), give it an oob program that can power it off (--node-parameters oob_program=PATH), or fail over with --ignore-consistency",
      );
    given(...withoutOob).when(failover({ sourceAnswered: false, ignoreConsistency: true })).then(moved({ ignoreSourceFailures: true }));
  });

  it("takes an offline source without a program at the operator's word (Ganeti's habit)", () =>
    given(...withoutOob, nodeModified('n1', { offline: true })).when(failover()).then(moved({ sourceOffline: true })));

  it('fences nothing for a stopped instance', () =>
    given(...withOob, { type: 'InstanceStopped', data: { instanceUuid: instanceUuid('sf1'), nodeUuid: nodeUuid('n1') } })
      .when(failover({ sourceAnswered: false }))
      .then(moved({ running: false })));
});
