import type { IncomingMessage } from 'node:http';
import { z } from 'zod';
import { NodeCallError } from '../../domain/ports/node-reach.js';

export { NodeCallError, type NodeCallFailure } from '../../domain/ports/node-reach.js';

const Answer = z.union([z.object({ result: z.unknown() }), z.object({ error: z.string() })]);
export type NodeAnswer = z.infer<typeof Answer>;

/**
 * Reads an `opl-noded` answer (`{ result }` or `{ error }`) off a response; anything
 * else is a bad answer, named for the call and the node it came from.
 */
export const readNodeAnswer = (res: IncomingMessage, where: string, call: string): Promise<NodeAnswer> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('error', reject);
    res.on('end', () => {
      try {
        resolve(Answer.parse(JSON.parse(Buffer.concat(chunks).toString('utf8'))));
      } catch {
        reject(new NodeCallError('bad-answer', `${where} answered '${call}' with something that is not an opl-noded answer (HTTP ${res.statusCode})`));
      }
    });
  });
