import { describe, it } from 'vitest';
import { given } from '../decider-spec.js';
import { clusterInitialized, groupAdded, instanceAdded, instanceStarted, nodeAdded, nodeUuid } from './history.js';

/**
 * Which hypervisor runs an instance: the cluster enables some (the first is the
 * default), `-H` picks one of them, kvm only on nodes with a daemon (QEMU runs on the
 * node's own host), and a running kvm guest does not move live until the QMP saga exists.
 */
const kvmCluster = [
  clusterInitialized({ enabledHypervisors: ['kvm', 'fake'] }),
  groupAdded('g1'),
  nodeAdded('h1', 'g1', { address: { host: '10.0.0.2', port: 1811 } }),
  nodeAdded('h2', 'g1', { address: { host: '10.0.0.3', port: 1811 } }),
  nodeAdded('local', 'g1'),
];
const create = { type: 'OP_INSTANCE_CREATE', instanceName: 'vm', diskTemplate: 'diskless', memoryMib: 512, vcpus: 1, primaryNode: 'h1', start: false } as const;
const added = (hypervisor: 'fake' | 'kvm', node = 'h1') => instanceAdded('vm', node, { instanceUuid: 'u1', memoryMib: 512, hypervisor });

describe('hypervisors', () => {
  it("gives a new instance the cluster's default hypervisor, the first enabled", () => given(...kvmCluster).when(create).then(added('kvm')));

  it('takes the hypervisor -H names, if the cluster enabled it', () => given(...kvmCluster).when({ ...create, hypervisor: 'fake', primaryNode: 'local' }).then(added('fake', 'local')));

  it('refuses a hypervisor the cluster did not enable, saying what is and how to change it', () =>
    given(clusterInitialized(), groupAdded('g1'), nodeAdded('h1', 'g1', { address: { host: '10.0.0.2', port: 1811 } }))
      .when({ ...create, hypervisor: 'kvm' })
      .thenRefused('invalid_argument', "hypervisor 'kvm' is not enabled on this cluster (enabled: fake); 'opl cluster modify --enabled-hypervisors' changes that"));

  it("keeps the instance's own kvm parameters (-H kvm:…) with it, and none when none were given", () =>
    given(...kvmCluster)
      .when({ ...create, hypervisorParams: { kernel_path: '/boot/vmlinuz-6', kernel_args: 'console=ttyS0 root=/dev/vda' } })
      .then(instanceAdded('vm', 'h1', { instanceUuid: 'u1', memoryMib: 512, hypervisor: 'kvm', hypervisorParams: { kernel_args: 'console=ttyS0 root=/dev/vda', kernel_path: '/boot/vmlinuz-6' } })));

  it('refuses parameters its hypervisor does not take, and a boot from a disk it does not have', () => {
    given(...kvmCluster)
      .when({ ...create, hypervisor: 'fake', primaryNode: 'local', hypervisorParams: { kernel_path: '/k' } })
      .thenRefused('invalid_argument', "-H fake: hypervisor 'fake' takes no parameters (given: kernel_path); only kvm does");
    given(...kvmCluster)
      .when({ ...create, hypervisorParams: { kernel_path: '' } })
      .thenRefused('invalid_argument', '-H kvm: kernel_path is empty, so the guest boots from its first disk, but it has no disk (give one with --disk, or a -t other than diskless)');
  });

  it("changes them as Ganeti's modify -H does, refusing a set that could not start", () => {
    const withParams = instanceAdded('vm', 'h1', { instanceUuid: 'u1', memoryMib: 512, hypervisor: 'kvm', hypervisorParams: { kernel_path: '/k', kernel_args: 'quiet' } });
    given(...kvmCluster, withParams)
      .when({ type: 'OP_INSTANCE_SET_PARAMS', instanceName: 'vm', hypervisorParams: { kernel_args: 'default', initrd_path: '/i' } })
      .then({ type: 'InstanceModified', data: { instanceUuid: 'u1', hypervisorParams: { kernel_path: '/k', initrd_path: '/i' } } });
    given(...kvmCluster, withParams)
      .when({ type: 'OP_INSTANCE_SET_PARAMS', instanceName: 'vm', hypervisorParams: { kernel_path: '' } })
      .thenRefused('invalid_argument', '-H kvm: kernel_path is empty, so the guest boots from its disk: initrd_path and kernel_args need a kernel to go with');
    given(...kvmCluster, withParams)
      .when({ type: 'OP_INSTANCE_SET_PARAMS', instanceName: 'vm', hypervisorParams: { kernel_path: '', kernel_args: 'default' } })
      .thenRefused('invalid_argument', "-H kvm: kernel_path is empty, so the guest boots from its first disk, but instance 'vm' has no disk");
  });

  it('refuses kvm on a local node: QEMU runs on a node with opl-noded', () =>
    given(...kvmCluster)
      .when({ ...create, primaryNode: 'local' })
      .thenRefused('invalid_argument', "node 'local' is a local node (no opl-noded): kvm guests run only on nodes added with --address"));

  it('refuses to disable a hypervisor an instance uses, and enables another', () => {
    given(...kvmCluster, added('kvm'))
      .when({ type: 'OP_CLUSTER_SET_PARAMS', enabledHypervisors: ['fake'] })
      .thenRefused('in_use', "hypervisor 'kvm' is still used by instance 'vm'");
    given(...kvmCluster)
      .when({ type: 'OP_CLUSTER_SET_PARAMS', enabledHypervisors: ['fake', 'kvm'] })
      .then({ type: 'ClusterModified', data: { enabledHypervisors: ['fake', 'kvm'] } });
  });

  it('moves a running kvm guest live or not, and only to a node with a daemon', () => {
    const up = [...kvmCluster, added('kvm'), instanceStarted('vm', 'h1')].map((e) => (e.type === 'InstanceStarted' ? { ...e, data: { ...e.data, instanceUuid: 'u1' } } : e));
    given(...up)
      .when({ type: 'OP_INSTANCE_MIGRATE', instanceName: 'vm', targetNode: 'h2', live: true, cleanup: false })
      .then({
        type: 'InstanceMoved',
        data: { instanceUuid: 'u1', fromNodeUuid: nodeUuid('h1'), toNodeUuid: nodeUuid('h2'), how: 'live-migration', running: true, sourceOffline: false, ignoreSourceFailures: false },
      });
    given(...up)
      .when({ type: 'OP_INSTANCE_MIGRATE', instanceName: 'vm', targetNode: 'local', live: false, cleanup: false })
      .thenRefused('invalid_argument', "node 'local' is a local node (no opl-noded): kvm guests run only on nodes added with --address");
    given(...up)
      .when({ type: 'OP_INSTANCE_MIGRATE', instanceName: 'vm', targetNode: 'h2', live: false, cleanup: false })
      .then({
        type: 'InstanceMoved',
        data: { instanceUuid: 'u1', fromNodeUuid: nodeUuid('h1'), toNodeUuid: nodeUuid('h2'), how: 'non-live-migration', running: true, sourceOffline: false, ignoreSourceFailures: false },
      });
  });
});
