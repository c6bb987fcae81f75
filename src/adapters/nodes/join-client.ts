import { randomBytes } from 'node:crypto';
import { Agent, request } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { z } from 'zod';
import { completionProof, proofHolds, requestProof } from '../../domain/join-proof.js';
import { NodeCallError, readNodeAnswer } from './node-answer.js';

/**
 * The engine's side of a join (see domain/join-proof.ts and noded/join-server.ts). The
 * joining node's certificate is one it signed itself, so TLS cannot vouch for it: the
 * node's proof over its signing request, its name, our nonce and the fingerprint of the
 * certificate our connection met does. Only once that holds is the token spent and the
 * node certified, for its name and the address it was reached at.
 */
export interface JoinCall {
  name: string;
  host: string;
  port: number;
  token: string;
  /** Certifies the node's request; called only once its proof holds. */
  certify: (csrPem: string) => Promise<{ certPem: string; caPem: string; crlPem: string }>;
  timeoutMs?: number;
}

const RequestAnswer = z.object({ name: z.string(), csrPem: z.string().startsWith('-----BEGIN CERTIFICATE REQUEST-----'), proof: z.string() });

export const joinNode = async (join: JoinCall): Promise<void> => {
  const where = `node ${join.name} at ${join.host}:${join.port}`;
  // Trust comes from the proofs, not from the certificate, which nobody signed yet.
  const agent = new Agent({ keepAlive: true, maxSockets: 1, rejectUnauthorized: false, minVersion: 'TLSv1.3' });
  const post = (call: string, body: unknown): Promise<{ result: unknown; fingerprint: string }> =>
    new Promise((resolve, reject) => {
      const text = JSON.stringify(body);
      const req = request(
        { host: join.host, port: join.port, method: 'POST', path: `/1/${call}`, agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }, timeout: join.timeoutMs ?? 10_000 },
        (res) => {
          const fingerprint = (res.socket as TLSSocket).getPeerCertificate().fingerprint256 ?? '';
          readNodeAnswer(res, where, call).then((answer) => {
            if ('error' in answer) {
              const joinedAlready = res.statusCode === 404 || res.statusCode === 409;
              return reject(new NodeCallError(joinedAlready ? 'refused' : 'node-error', `${where} ${joinedAlready ? 'is not waiting to join (it may have joined a cluster already)' : 'refused the join'}: ${answer.error}`));
            }
            resolve({ result: answer.result, fingerprint });
          }, reject);
        },
      );
      req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
      req.on('error', (error) => {
        const code = (error as NodeJS.ErrnoException).code;
        // A node already joined asks for a client certificate we do not present here.
        if (/certificate|alert/i.test(error.message)) return reject(new NodeCallError('refused', `${where} is not waiting to join: it asks for a cluster certificate (it has joined a cluster already; ${error.message})`));
        reject(new NodeCallError('unreachable', `${where} is unreachable (${code === 'ETIMEDOUT' ? `no answer within ${join.timeoutMs ?? 10_000} ms` : (code ?? error.message)})`));
      });
      req.end(text);
    });
  try {
    const nonce = randomBytes(32).toString('hex');
    const asked = await post('join-request', { nonce });
    const parsed = RequestAnswer.safeParse(asked.result);
    if (!parsed.success) throw new NodeCallError('bad-answer', `${where} answered the join request with something that is not a signing request and a proof`);
    const { name, csrPem, proof } = parsed.data;
    if (name !== join.name) throw new NodeCallError('not-this-cluster', `${where} is waiting to join as node '${name}', not ${join.name}`);
    if (!proofHolds(requestProof(join.token, join.name, csrPem, nonce, asked.fingerprint), proof)) {
      throw new NodeCallError('not-this-cluster', `${where} could not prove it holds the join token issued for ${join.name}: it is not the host started with 'opl-noded --join' and that token (or the join is being relayed)`);
    }
    const handed = await join.certify(csrPem);
    const done = await post('join-complete', { ...handed, proof: completionProof(join.token, join.name, handed.certPem, handed.caPem, handed.crlPem) });
    if (done.fingerprint !== asked.fingerprint) throw new NodeCallError('not-this-cluster', `${where} answered the join's second step with another certificate than its first`);
  } finally {
    agent.destroy();
  }
};
