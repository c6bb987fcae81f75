import { z } from 'zod';
import type { Hypervisor } from '../domain/ports/hypervisor.js';
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

const badRequest = (message: string) => Object.assign(new Error(message), { status: 400 });

/**
 * The node's own hypervisor, served: `hv-start`, `hv-stop`, `hv-cleanup` (idempotent,
 * as the port promises, so a call retried after a lost answer does no harm) and
 * `hv-running`. A call meant for another node is refused: the engine reached the
 * wrong host, and acting on it would run a guest where the log says it is not.
 */
export const hypervisorCalls = (nodeName: string, hypervisor: Hypervisor): Record<string, Handler> => {
  const checked = (body: unknown) => {
    const parsed = HypervisorCallBody.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw badRequest(`a hypervisor call whose '${issue.path.join('.') || '(body)'}' is not valid (${issue.message})`);
    }
    if (parsed.data.node !== nodeName) throw badRequest(`a hypervisor call for node '${parsed.data.node}' reached node '${nodeName}'`);
    return parsed.data.instance;
  };
  return {
    'hv-start': async (body) => (await hypervisor.start(nodeName, checked(body)), {}),
    'hv-stop': async (body) => (await hypervisor.stop(nodeName, checked(body)), {}),
    'hv-cleanup': async (body) => (await hypervisor.cleanup(nodeName, checked(body)), {}),
    'hv-running': async () => ({ instances: await hypervisor.running(nodeName) }),
  };
};
