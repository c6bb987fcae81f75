import { z } from 'zod';
import type { Hypervisor, HypervisorInstance } from '../../domain/ports/hypervisor.js';
import { NodeCallError } from '../nodes/node-answer.js';
import { nodeRoutedGuests } from './node-routed-guests.js';
import { nodeRoutedMigration, wireInstance } from './node-routed-migration.js';

/** The part of a node client a hypervisor needs: one call by name. */
export interface NodeCaller {
  /** options: how long this call may take, when it may outlast the usual timeout; how often it may be sent again. */
  call(method: string, body?: unknown, options?: { timeoutMs?: number; retries?: number }): Promise<unknown>;
}

const RunningAnswer = z.object({ instances: z.array(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,253}$/)) });

/**
 * The hypervisor of whichever node is named: a node with a daemon is asked through it
 * (its own hypervisor runs the guest, on its host), one without is run here by the
 * local adapter. `route` answers the daemon's client, or undefined for a local node.
 * What a daemon says it runs is believed only once it is a list of instance names.
 */
const KVM_CALL_MS = 180_000;

export const nodeRoutedHypervisor = (local: Hypervisor, route: (nodeName: string) => NodeCaller | undefined): Hypervisor & Required<Pick<Hypervisor, 'inspect' | 'console'>> => {
  const via = (action: 'start' | 'stop' | 'cleanup') => async (node: string, instance: HypervisorInstance, options: { timeoutSeconds?: number } = {}) => {
    const daemon = route(node);
    if (!daemon) {
      // A local node has only the fake hypervisor: a kvm guest is never quietly faked here.
      if (instance.hypervisor === 'kvm') throw new Error(`node ${node} is a local node (no opl-noded): it cannot run the kvm guest ${instance.name}`);
      return local[action](node, instance, options);
    }
    const body = { node, instance: wireInstance(instance), ...(options.timeoutSeconds !== undefined && { timeoutSeconds: options.timeoutSeconds }) };
    // A kvm stop waits for the guest's own power-down (up to the node's shutdown timeout,
    // at most 150 s) and a start for the node's KVM probe: the call is given that long.
    // A retry is safe: the node does one call per guest at a time, and each is idempotent.
    await daemon.call(`hv-${action}`, body, instance.hypervisor === 'kvm' ? { timeoutMs: KVM_CALL_MS } : {});
  };
  const daemonFor = (why: string) => (node: string) => {
    const daemon = route(node);
    if (!daemon) throw new Error(`node ${node} is a local node (no opl-noded): ${why}`);
    return daemon;
  };
  return {
    start: via('start'),
    stop: via('stop'),
    cleanup: via('cleanup'),
    running: async (node) => {
      const daemon = route(node);
      if (!daemon) return local.running(node);
      const parsed = RunningAnswer.safeParse(await daemon.call('hv-running', { node }));
      if (!parsed.success) throw new NodeCallError('bad-answer', `node ${node} answered what its hypervisor runs with something that is not a list of instance names`);
      return [...parsed.data.instances].sort();
    },
    live: nodeRoutedMigration(daemonFor('it has no kvm hypervisor to migrate with')),
    ...nodeRoutedGuests(daemonFor('it runs no kvm guests')),
  };
};

/** Stands for a node marked offline: every call fails at once, and says why. */
export const offlineNode = (name: string): NodeCaller => ({
  call: () => Promise.reject(new NodeCallError('unreachable', `node ${name} is marked offline: it is not asked`)),
});
