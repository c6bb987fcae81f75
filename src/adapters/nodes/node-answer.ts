import type { IncomingMessage } from 'node:http';
import { z } from 'zod';
import { NodeCallError } from '../../domain/ports/node-reach.js';

export { NodeCallError, type NodeCallFailure } from '../../domain/ports/node-reach.js';

/** More than any call's answer (a driver's run is 64 KiB of each stream): a node that sends more is not believed. */
const LONGEST_ANSWER = 8 * 1024 * 1024;
const Answer = z.union([z.object({ result: z.unknown() }), z.object({ error: z.string().transform((e) => (e.length > 2000 ? `${e.slice(0, 2000)}…` : e)) })]);
export type NodeAnswer = z.infer<typeof Answer>;

/**
 * Reads an `opl-noded` answer (`{ result }` or `{ error }`) off a response; anything
 * else is a bad answer, named for the call and the node it came from.
 */
export const readNodeAnswer = (res: IncomingMessage, where: string, call: string): Promise<NodeAnswer> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= LONGEST_ANSWER) return void chunks.push(c);
      res.destroy();
      reject(new NodeCallError('bad-answer', `${where} answered '${call}' with more than ${LONGEST_ANSWER} bytes`));
    });
    res.on('error', reject);
    res.on('end', () => {
      try {
        resolve(Answer.parse(JSON.parse(Buffer.concat(chunks).toString('utf8'))));
      } catch {
        reject(new NodeCallError('bad-answer', `${where} answered '${call}' with something that is not an opl-noded answer (HTTP ${res.statusCode})`));
      }
    });
  });

/** A node's answer to a call, believed only once it has the shape the call's answer has; else a bad answer, in our words. */
export const believed = <S extends z.ZodType>(schema: S, answer: unknown, node: string, what: string): z.infer<S> => {
  const parsed = schema.safeParse(answer);
  if (!parsed.success) throw new NodeCallError('bad-answer', `node ${node} answered ${what} with something that is not one`);
  return parsed.data;
};
