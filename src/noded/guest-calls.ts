import { z } from 'zod';
import { checkedBody } from './checked-body.js';
import { HypervisorCallBody } from './hypervisor-body.js';
import type { Handler } from './http.js';
import type { NodeHypervisors } from './hypervisor-calls.js';

const ConsoleBody = z.object({
  node: z.string(),
  name: HypervisorCallBody.shape.instance.shape.name,
  offset: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
});

/**
 * What a node's hypervisor says of one guest: `hv-inspect` (QEMU's own view: run state,
 * pid, memory; null when no QEMU of it runs here, and for fake guests, which have none)
 * and `hv-console` (a piece of a kvm guest's serial console, base64, from an offset).
 */
export const guestCalls = (nodeName: string, hypervisors: NodeHypervisors): Record<string, Handler> => {
  const inspect = checkedBody('a guest inspection call', HypervisorCallBody, nodeName);
  const consoleOf = checkedBody('a console call', ConsoleBody, nodeName);
  return {
    'hv-inspect': async (body) => {
      const { hypervisor: which, ...instance } = inspect(body).instance;
      const kvm = hypervisors.kvm;
      if (which !== 'kvm' || !kvm?.inspect) return { guest: null };
      return { guest: (await kvm.inspect(nodeName, instance)) ?? null };
    },
    'hv-console': async (body) => {
      const call = consoleOf(body);
      const kvm = hypervisors.kvm;
      if (!kvm?.console) throw Object.assign(new Error(`node ${nodeName} has no kvm hypervisor (its node.json names no kvm kernel): no guest of it has a console`), { status: 400 });
      const piece = await kvm.console(nodeName, call.name, call.offset);
      return { data: piece.data.toString('base64'), next: piece.next, size: piece.size };
    },
  };
};
