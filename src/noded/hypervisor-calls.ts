import { z } from 'zod';
import type { Hypervisor } from '../domain/ports/hypervisor.js';
import { checkedBody } from './checked-body.js';
import type { Handler } from './http.js';

/** What a hypervisor call carries: the instance as the engine knows it, checked before anything runs. */
export const HypervisorCallBody = z.object({
  node: z.string(),
  instance: z.object({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,253}$/, 'expected an instance name'),
    uuid: z.string().min(1).max(64),
    memoryMib: z.number().int().positive(),
    vcpus: z.number().int().positive(),
  }),
});

/**
 * The node's own hypervisor, served: `hv-start`, `hv-stop`, `hv-cleanup` (idempotent,
 * as the port promises, so a call retried after a lost answer does no harm) and
 * `hv-running`. A call meant for another node is refused.
 */
export const hypervisorCalls = (nodeName: string, hypervisor: Hypervisor): Record<string, Handler> => {
  const check = checkedBody('a hypervisor call', HypervisorCallBody, nodeName);
  const checked = (body: unknown) => check(body).instance;
  return {
    'hv-start': async (body) => (await hypervisor.start(nodeName, checked(body)), {}),
    'hv-stop': async (body) => (await hypervisor.stop(nodeName, checked(body)), {}),
    'hv-cleanup': async (body) => (await hypervisor.cleanup(nodeName, checked(body)), {}),
    'hv-running': async () => ({ instances: await hypervisor.running(nodeName) }),
  };
};
