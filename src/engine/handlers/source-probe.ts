import { findInstance } from '../../domain/cluster-state.js';
import type { HandlerContext } from './handler.js';

/** How long a failover waits for its source's daemon before calling it silent. */
export const SOURCE_PROBE_MS = 5_000;

/**
 * Before a failover is decided: whether the running instance's source answers. A source
 * that does not may still run the guest, and the decision fences it or refuses
 * (src/domain/decide/instance-move.ts). Undefined when nothing needs asking: a stopped
 * instance, a local node, one marked offline (not called, by Ganeti's habit).
 */
export const sourceAnswers = async (ctx: HandlerContext, instanceName: string): Promise<boolean | undefined> => {
  const state = await ctx.state();
  const instance = findInstance(state, instanceName);
  const source = instance && state.nodes.get(instance.primaryNodeUuid);
  if (!instance || instance.adminState !== 'up' || !source?.address || source.offline || !ctx.nodes) return undefined;
  let timer: NodeJS.Timeout | undefined;
  const silence = new Promise<{ ok: false; message: string }>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, message: `no answer within ${SOURCE_PROBE_MS / 1000} s` }), SOURCE_PROBE_MS);
  });
  const answer = await Promise.race([ctx.nodes.facts(source.name, source.address).catch((e: unknown) => ({ ok: false as const, message: String(e) })), silence]);
  clearTimeout(timer);
  if (answer.ok) return true;
  await ctx.log(`node ${source.name}, where ${instance.name} runs, does not answer: ${answer.message}`, 'warning');
  return false;
};
