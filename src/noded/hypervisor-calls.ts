import type { Hypervisor } from '../domain/ports/hypervisor.js';
import { checkedBody } from './checked-body.js';
import { HypervisorCallBody } from './hypervisor-body.js';
import type { Handler } from './http.js';
import { guestCalls } from './guest-calls.js';
import { migrationCalls } from './migration-calls.js';

/** The hypervisors a node serves: always fake; kvm when node.json says which kernel its guests boot. */
export interface NodeHypervisors {
  fake: Hypervisor;
  kvm?: Hypervisor;
}

/**
 * The node's own hypervisor, served: `hv-start`, `hv-stop`, `hv-cleanup` (idempotent,
 * as the port promises, so a call retried after a lost answer does no harm) and
 * `hv-running`. A call meant for another node is refused.
 */
export const hypervisorCalls = (nodeName: string, hypervisors: NodeHypervisors): Record<string, Handler> => {
  const check = checkedBody('a hypervisor call', HypervisorCallBody, nodeName);
  const served = (body: unknown) => {
    const checked = check(body);
    const { hypervisor: which, ...instance } = checked.instance;
    const hypervisor = hypervisors[which];
    if (!hypervisor) throw Object.assign(new Error(`node ${nodeName} has no kvm hypervisor (its node.json names no kvm kernel)`), { status: 400 });
    return { hypervisor, instance, ...(checked.timeoutSeconds !== undefined && { stop: { timeoutSeconds: checked.timeoutSeconds } }) };
  };
  return {
    'hv-start': async (body) => {
      const { hypervisor, instance } = served(body);
      return (await hypervisor.start(nodeName, instance), {});
    },
    'hv-stop': async (body) => {
      const { hypervisor, instance, stop } = served(body);
      return (await hypervisor.stop(nodeName, instance, stop), {});
    },
    'hv-cleanup': async (body) => {
      const { hypervisor, instance } = served(body);
      return (await hypervisor.cleanup(nodeName, instance), {});
    },
    'hv-running': async () => ({ instances: await runningOn(nodeName, hypervisors) }),
    ...migrationCalls(nodeName, hypervisors.kvm?.live),
    ...guestCalls(nodeName, hypervisors),
  };
};

/** What every hypervisor of the node runs, as one sorted list of names. */
export const runningOn = async (nodeName: string, hypervisors: NodeHypervisors): Promise<string[]> => {
  const lists = await Promise.all(Object.values(hypervisors).map((h: Hypervisor) => h.running(nodeName)));
  return [...new Set(lists.flat())].sort();
};
