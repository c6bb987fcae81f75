import { describe, it } from 'vitest';
import type { EventOf } from '../../../src/domain/events.js';
import { given } from '../decider-spec.js';
import { fileDisk, instanceAdded, instanceUuid, nodeModified, nodeUuid, running, sharedFileDisk, threeNodes } from './history.js';

type Moved = EventOf<'InstanceMoved'>['data'];
const moved = (name: string, from: string, to: string, how: Moved['how'], over: Partial<Moved> = {}): EventOf<'InstanceMoved'> => ({
  type: 'InstanceMoved',
  data: { instanceUuid: instanceUuid(name), fromNodeUuid: nodeUuid(from), toNodeUuid: nodeUuid(to), how, running: true, sourceOffline: false, ignoreSourceFailures: false, ...over },
});

/** sf1 (sharedfile) runs on n1 of g1; n2 is in g1 too, n3 in g2; lun (blockdev) runs on n1 as well. */
const cluster = [
  ...threeNodes({ sharedFileStorageDir: '/srv/shared' }),
  ...running('sf1', 'n1', { diskTemplate: 'sharedfile', disks: [sharedFileDisk('sf1', 0, 64)] }),
  ...running('lun', 'n1', { diskTemplate: 'blockdev', disks: [{ index: 0, sizeMib: 0, logicalId: '/dev/mapper/lun1', params: {}, adopted: true }] }),
  ...running('f1', 'n2', { diskTemplate: 'file', disks: [fileDisk('f1', 0, 64)] }),
];
const migrate = (instanceName: string, targetNode?: string, more: { live?: boolean } = {}) =>
  ({ type: 'OP_INSTANCE_MIGRATE', instanceName, ...(targetNode !== undefined && { targetNode }), ...more }) as const;
const failover = (instanceName: string, targetNode?: string, more: { ignoreConsistency?: boolean; shutdownTimeoutSeconds?: number } = {}) =>
  ({ type: 'OP_INSTANCE_FAILOVER', instanceName, ...(targetNode !== undefined && { targetNode }), ...more }) as const;

describe('OP_INSTANCE_MIGRATE', () => {
  it('moves a running instance live to a node of its mobility domain', () => given(...cluster).when(migrate('sf1', 'n3')).then(moved('sf1', 'n1', 'n3', 'live-migration')));

  it('moves it with a short stop when not live', () => given(...cluster).when(migrate('sf1', 'n2', { live: false })).then(moved('sf1', 'n1', 'n2', 'non-live-migration')));

  it('refuses an instance that does not exist', () => given(...cluster).when(migrate('zz', 'n2')).thenRefused('not_found', "instance 'zz' does not exist"));

  it('refuses an instance whose disks live on one node', () =>
    given(...cluster).when(migrate('f1', 'n1')).thenRefused('not_supported', "'file' disks live on one node only, so the instance cannot migrate"));

  it('refuses a stopped instance, pointing at failover', () =>
    given(...cluster, { type: 'InstanceStopped', data: { instanceUuid: instanceUuid('sf1'), nodeUuid: nodeUuid('n1') } })
      .when(migrate('sf1', 'n2'))
      .thenRefused('wrong_state', "instance 'sf1' is not running; move a stopped instance with 'opl instance failover'"));

  it('refuses a move without a target decided', () =>
    given(...cluster).when(migrate('sf1')).thenRefused('invalid_argument', 'migrate: give the target with -n NODE or -I ALLOCATOR'));

  it('refuses a target that does not exist', () => given(...cluster).when(migrate('sf1', 'n9')).thenRefused('not_found', "node 'n9' does not exist"));

  it('refuses a target outside the mobility domain, saying why', () => {
    given(...cluster).when(migrate('lun', 'n3')).thenRefused('wrong_state', "node 'n3' is not in the mobility domain of 'lun': group 'g2' does not reach its 'blockdev' storage");
    given(...cluster).when(migrate('sf1', 'n1')).thenRefused('wrong_state', "node 'n1' is not in the mobility domain of 'sf1': its current primary node");
    given(...cluster, nodeModified('n3', { drained: true })).when(migrate('sf1', 'n3')).thenRefused('wrong_state', "node 'n3' is not in the mobility domain of 'sf1': node is drained");
  });

  it('refuses a target without the memory for it', () =>
    given(...cluster, instanceAdded('big', 'n3', { memoryMib: 3500 }))
      .when(migrate('sf1', 'n3'))
      .thenRefused('insufficient_resources', "node 'n3' has 596 MiB of memory free, 1024 MiB needed"));

  it('refuses a live move away from an offline node, pointing at failover', () =>
    given(...cluster, nodeModified('n1', { offline: true }))
      .when(migrate('sf1', 'n2'))
      .thenRefused('wrong_state', "node 'n1' is offline, so 'sf1' cannot migrate live; use 'opl instance failover'"));
});

describe('OP_INSTANCE_FAILOVER', () => {
  it('moves a running instance by stopping and starting it', () => given(...cluster).when(failover('sf1', 'n2')).then(moved('sf1', 'n1', 'n2', 'failover')));

  it("gives the guest on its source the --shutdown-timeout asked for", () =>
    given(...cluster).when(failover('sf1', 'n2', { shutdownTimeoutSeconds: 10 })).then(moved('sf1', 'n1', 'n2', 'failover', { shutdownTimeoutSeconds: 10 })));

  it('moves a stopped instance, which stays stopped', () =>
    given(...cluster, { type: 'InstanceStopped', data: { instanceUuid: instanceUuid('sf1'), nodeUuid: nodeUuid('n1') } })
      .when(failover('sf1', 'n3'))
      .then(moved('sf1', 'n1', 'n3', 'failover', { running: false })));

  it('moves away from an offline node without waiting on it when told to ignore consistency', () =>
    given(...cluster, nodeModified('n1', { offline: true }))
      .when(failover('sf1', 'n2', { ignoreConsistency: true }))
      .then(moved('sf1', 'n1', 'n2', 'failover', { sourceOffline: true, ignoreSourceFailures: true })));

  it('refuses an instance that does not exist', () => given(...cluster).when(failover('zz', 'n2')).thenRefused('not_found', "instance 'zz' does not exist"));

  it('refuses an instance whose disks live on one node', () =>
    given(...cluster).when(failover('f1', 'n1')).thenRefused('not_supported', "'file' disks live on one node only, so the instance cannot failover"));

  it('refuses a move without a target decided', () =>
    given(...cluster).when(failover('sf1')).thenRefused('invalid_argument', 'failover: give the target with -n NODE or -I ALLOCATOR'));

  it('refuses a target that does not exist', () => given(...cluster).when(failover('sf1', 'n9')).thenRefused('not_found', "node 'n9' does not exist"));

  it('refuses a target outside the mobility domain', () =>
    given(...cluster).when(failover('lun', 'n3')).thenRefused('wrong_state', "node 'n3' is not in the mobility domain of 'lun'"));

  it('refuses a target without the vcpus for it', () =>
    given(...cluster, instanceAdded('busy', 'n3', { vcpus: 8 }))
      .when(failover('sf1', 'n3'))
      .thenRefused('insufficient_resources', "node 'n3' would carry 9 vcpus, more than its limit of 8 (2 cpus × vcpu-ratio 4)"));
});

describe('OP_INSTANCE_MIGRATE --cleanup, from what the engine observed', () => {
  const cleanup = (instanceName = 'sf1', more: { targetNode?: string } = {}) => ({ type: 'OP_INSTANCE_MIGRATE', instanceName, cleanup: true, ...more }) as const;

  it('records a move the hypervisors made but the log never saw', () =>
    given(...cluster).when(cleanup(), { observed: { runningOn: ['n2'], attachedOn: [] } }).then(moved('sf1', 'n1', 'n2', 'live-migration', { found: true })));

  it("lets go of a copy that is not the guest (a migration's paused source) with the move it records; a waiting target beside the primary", () => {
    given(...cluster).when(cleanup(), { observed: { runningOn: ['n2'], attachedOn: [], leftOn: ['n1'] } }).then(moved('sf1', 'n1', 'n2', 'live-migration', { found: true }));
    given(...cluster)
      .when(cleanup(), { observed: { runningOn: ['n1'], attachedOn: ['n1'], leftOn: ['n2'] } })
      .then({ type: 'InstanceCleanedUp', data: { instanceUuid: instanceUuid('sf1'), nodeUuids: [nodeUuid('n2')] } });
  });

  it('never resumes a paused source whose guest went nowhere: it is let go of, to be started again', () =>
    given(...cluster)
      .when(cleanup(), { observed: { runningOn: [], attachedOn: ['n2'], leftOn: ['n1', 'n2'] } })
      .then({ type: 'InstanceCleanedUp', data: { instanceUuid: instanceUuid('sf1'), nodeUuids: [nodeUuid('n1'), nodeUuid('n2')] } }));

  it('lets go of whatever runs or is attached away from the primary', () =>
    given(...cluster)
      .when(cleanup(), { observed: { runningOn: ['n1', 'n2'], attachedOn: ['n1', 'n3'] } })
      .then({ type: 'InstanceCleanedUp', data: { instanceUuid: instanceUuid('sf1'), nodeUuids: [nodeUuid('n2'), nodeUuid('n3')] } }));

  it('records the move, then lets go of what is left elsewhere', () =>
    given(...cluster)
      .when(cleanup(), { observed: { runningOn: ['n2'], attachedOn: ['n2', 'n3'] } })
      .then(moved('sf1', 'n1', 'n2', 'live-migration', { found: true }), { type: 'InstanceCleanedUp', data: { instanceUuid: instanceUuid('sf1'), nodeUuids: [nodeUuid('n3')] } }));

  it('has nothing to do for a healthy instance', () =>
    given(...cluster).when(cleanup(), { observed: { runningOn: ['n1'], attachedOn: ['n1'] } }).then());

  it('refuses without an observation', () =>
    given(...cluster).when(cleanup()).thenRefused('invalid_argument', 'migrate --cleanup needs the engine to look at the nodes first'));

  it('refuses a target: a cleanup moves nothing', () =>
    given(...cluster)
      .when(cleanup('sf1', { targetNode: 'n2' }), { observed: { runningOn: ['n1'], attachedOn: [] } })
      .thenRefused('invalid_argument', 'migrate --cleanup moves nothing: give neither -n nor -I'));

  it('refuses to guess when it runs on two nodes, neither its primary', () =>
    given(...cluster)
      .when(cleanup(), { observed: { runningOn: ['n2', 'n3'], attachedOn: [] } })
      .thenRefused('wrong_state', "instance 'sf1' runs on n2 and n3, neither its primary 'n1'; stop it by hand on all but one, then run --cleanup again"));

  it('refuses a running instance that runs nowhere, pointing at start', () =>
    given(...cluster)
      .when(cleanup(), { observed: { runningOn: [], attachedOn: [] } })
      .thenRefused('wrong_state', "instance 'sf1' runs on no node; start it with 'opl instance start sf1'"));

  it('refuses an instance whose disks live on one node', () =>
    given(...cluster)
      .when(cleanup('f1'), { observed: { runningOn: ['n2'], attachedOn: [] } })
      .thenRefused('not_supported', "'file' disks live on one node only, so the instance cannot migrate"));

  it('refuses an instance that does not exist', () =>
    given(...cluster).when(cleanup('zz'), { observed: { runningOn: [], attachedOn: [] } }).thenRefused('not_found', "instance 'zz' does not exist"));
});
