import type { z } from 'zod';

const badRequest = (message: string) => Object.assign(new Error(message), { status: 400 });

/**
 * Parses a call's body with its schema, or refuses it (400) in our words, naming the
 * first field that is wrong; and refuses a call meant for another node: the engine
 * reached the wrong host, and acting on it would change a host the log does not name.
 */
export const checkedBody = <S extends z.ZodType<{ node: string }>>(what: string, schema: S, nodeName: string) => (body: unknown): z.infer<S> => {
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    if (issue.code === 'unrecognized_keys') {
      const fields = issue.keys.map((k) => [...issue.path, k].join('.'));
      throw badRequest(`${what} carries ${fields.map((f) => `'${f}'`).join(', ')}, which this opl-noded does not take: it is older than the engine that called it, or the caller is not ours; upgrade it`);
    }
    throw badRequest(`${what} whose '${issue.path.join('.') || '(body)'}' is not valid (${issue.message})`);
  }
  if (parsed.data.node !== nodeName) throw badRequest(`${what} for node '${parsed.data.node}' reached node '${nodeName}'`);
  return parsed.data;
};
