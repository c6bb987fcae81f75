import * as E from 'fp-ts/lib/Either.js';
import type { Either } from 'fp-ts/lib/Either.js';
import { z } from 'zod';
import { placementProblem } from '../domain/cluster-decide.js';
import { findNode, type ClusterState, type InstanceConfig } from '../domain/cluster-state.js';

/** An allocator's answer, as Ganeti defines it (`nodes` is the old name of `result`). */
export const IallocatorResponse = z
  .object({
    success: z.boolean(),
    info: z.string().default(''),
    result: z.unknown().optional(),
    nodes: z.unknown().optional(),
  })
  .transform((r) => ({ success: r.success, info: r.info, result: r.result ?? r.nodes ?? [] }));
export type IallocatorResponse = z.infer<typeof IallocatorResponse>;

export const parseResponse = (stdout: string): Either<string, IallocatorResponse> => {
  let json: unknown;
  try {
    json = JSON.parse(stdout);
  } catch {
    return E.left(`the answer is not JSON: ${JSON.stringify(stdout.slice(0, 80))}`);
  }
  const parsed = IallocatorResponse.safeParse(json);
  if (!parsed.success) return E.left(`the answer is not an iallocator response: ${parsed.error.issues[0]?.path.join('.')} ${parsed.error.issues[0]?.message}`);
  return E.right(parsed.data);
};

/**
 * Checks a relocate answer before anything acts on it: it succeeded, names exactly
 * one node, and that node is in the mobility domain, online and has room.
 */
export const validatePlacement = (
  state: ClusterState,
  instance: Pick<InstanceConfig, 'name' | 'memoryMib' | 'vcpus'>,
  domain: readonly string[],
  response: IallocatorResponse,
): Either<string, string> => {
  if (!response.success) return E.left(`the allocator found no placement: ${response.info || 'no reason given'}`);
  const nodes = z.array(z.string()).safeParse(response.result);
  if (!nodes.success) return E.left(`the answer's result is not a list of node names`);
  if (nodes.data.length !== 1) return E.left(`the answer names ${nodes.data.length} nodes where 1 was asked for`);
  const name = nodes.data[0]!;
  const node = findNode(state, name);
  if (!node) return E.left(`the answer names node '${name}', which does not exist`);
  if (!domain.includes(name)) return E.left(`the answer names node '${name}', which is outside the mobility domain of '${instance.name}' (${domain.join(', ') || 'empty'})`);
  const unfit = placementProblem(state, node, instance.memoryMib, instance.vcpus);
  if (unfit) return E.left(`the answer names node '${name}', but ${unfit.message}`);
  return E.right(name);
};
