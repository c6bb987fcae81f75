import { findInstance, instancesOnNode } from '../../domain/cluster-state.js';
import type { NodeFactsResult } from '../../domain/ports/node-reach.js';
import type { HandlerContext } from './handler.js';

/** How long a failover waits for its source's daemon, each time, before calling it silent; and how often it asks. */
export const SOURCE_PROBE_MS = 5_000;
const SOURCE_PROBE_TRIES = 2;

/**
 * Before a failover is decided: whether the running instance's source answers. A source
 * that does not may still run the guest, and the decision fences it or refuses
 * (src/domain/decide/instance-move.ts). Only a source that cannot be reached at all, twice,
 * is silent: one that answers wrongly (another cluster's, an error) is up, and is called
 * as usual. Undefined when nothing needs asking: a stopped instance, a local node, one
 * marked offline (not called, by Ganeti's habit).
 */
export const sourceAnswers = async (ctx: HandlerContext, instanceName: string): Promise<boolean | undefined> => {
  const state = await ctx.state();
  const instance = findInstance(state, instanceName);
  const source = instance && state.nodes.get(instance.primaryNodeUuid);
  if (!instance || instance.adminState !== 'up' || !source?.address || source.offline || !ctx.nodes) return undefined;
  const { nodes } = ctx;
  const address = source.address;
  const ask = async (): Promise<NodeFactsResult> => {
    let timer: NodeJS.Timeout | undefined;
    const silence = new Promise<NodeFactsResult>((resolve) => {
      timer = setTimeout(() => resolve({ ok: false, kind: 'unreachable', message: `no answer within ${SOURCE_PROBE_MS / 1000} s` }), SOURCE_PROBE_MS);
    });
    const asked = nodes.facts(source.name, address).catch((e: unknown): NodeFactsResult => ({ ok: false, kind: 'unreachable', message: e instanceof Error ? e.message : String(e) }));
    const answer = await Promise.race([asked, silence]);
    clearTimeout(timer);
    return answer;
  };
  let answer = await ask();
  for (let tries = 1; !answer.ok && answer.kind === 'unreachable' && tries < SOURCE_PROBE_TRIES; tries++) answer = await ask();
  if (answer.ok || answer.kind !== 'unreachable') return true;
  const others = instancesOnNode(state, source.uuid).filter((i) => i.uuid !== instance.uuid && i.adminState === 'up').map((i) => i.name).sort();
  await ctx.log(`node ${source.name}, where ${instance.name} runs, does not answer: ${answer.message}${others.length ? `; it also runs ${others.join(', ')}` : ''}`, 'warning');
  return false;
};
