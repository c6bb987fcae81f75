import { Agent, request } from 'node:https';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import type { NodeFacts } from '../../domain/ports/node-reach.js';
import { NodeCallError, readNodeAnswer } from './node-answer.js';

export { NodeCallError, type NodeCallFailure } from './node-answer.js';

/**
 * The engine's side of `opl-noded`: HTTPS with mutual TLS. It presents the cluster's
 * client certificate and believes a node only if the node's certificate was signed by
 * the cluster's authority *and* names the node it meant to call, whatever address it
 * was reached at: a host that answers at the address with another node's certificate,
 * or another cluster's, is refused. Sessions and connections are kept (one agent per
 * node), calls have a timeout, and a call that failed for want of the node (refused,
 * reset, timed out) is retried a bounded number of times. The calls here only read
 * (`ping`, `facts`); a call that changes the host will carry its own id so that a
 * retried one is answered, not done twice.
 */
export interface RemoteNodeOptions {
  name: string;
  host: string;
  port: number;
  /** The cluster's authority, and the caller's certificate and key. */
  caPem: string;
  certPem: string;
  keyPem: string;
  timeoutMs?: number;
  /** Further attempts after a call that did not reach the node. */
  retries?: number;
  retryDelayMs?: number;
}

const FactsAnswer = z.object({
  name: z.string(),
  hostname: z.string(),
  memoryTotalMib: z.number().int().nonnegative(),
  memoryFreeMib: z.number().int().nonnegative(),
  cpus: z.number().int().positive(),
  storage: z.array(z.object({ path: z.string(), totalMib: z.number().int().nonnegative(), freeMib: z.number().int().nonnegative(), error: z.string().optional() })),
  instances: z.array(z.string()),
  time: z.number(),
});

const UNREACHABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND']);
const NOT_THIS_CLUSTER = new Set(['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_SIGNATURE_FAILURE', 'ERR_TLS_CERT_ALTNAME_INVALID', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'CERT_REVOKED']);

/** Per call: how long to wait for this call's answer (a driver's run may outlast the usual timeout). */
export interface CallOptions {
  timeoutMs?: number;
  /** Further attempts after a call that did not reach the node (0 for a call that must not run twice). */
  retries?: number;
}

export interface RemoteNode {
  call<T = unknown>(method: string, body?: unknown, options?: CallOptions): Promise<T>;
  facts(): Promise<NodeFacts>;
  close(): void;
}

export const remoteNode = (options: RemoteNodeOptions): RemoteNode => {
  const where = `node ${options.name} at ${options.host}:${options.port}`;
  const agent = new Agent({
    keepAlive: true,
    maxSockets: 8,
    ca: options.caPem,
    cert: options.certPem,
    key: options.keyPem,
    minVersion: 'TLSv1.3',
  });
  // The node must be the one named, not merely someone the cluster certified.
  const identity = (_host: string, cert: PeerCertificate) => checkServerIdentity(options.name, cert);

  const once = (method: string, body: unknown, timeoutMs: number): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const text = JSON.stringify(body ?? {});
      const req = request(
        { host: options.host, port: options.port, method: 'POST', path: `/1/${method}`, agent, checkServerIdentity: identity, servername: options.name, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }, timeout: timeoutMs },
        (res) => {
          readNodeAnswer(res, where, method).then((answer) => {
            if ('error' in answer) return reject(new NodeCallError(res.statusCode === 401 ? 'refused' : 'node-error', `${where}: ${method}: ${answer.error}`));
            resolve(answer.result);
          }, (error: Error) => reject(classify(error, timeoutMs)));
        },
      );
      req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
      req.on('error', (error) => reject(classify(error, timeoutMs)));
      req.end(text);
    });

  const classify = (error: Error, timeoutMs: number): NodeCallError => {
    if (error instanceof NodeCallError) return error;
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (NOT_THIS_CLUSTER.has(code)) {
      // A daemon waiting to join serves a certificate it signed itself.
      const waiting = code === 'DEPTH_ZERO_SELF_SIGNED_CERT' ? `; if it is waiting to join, issue a token ('opl node token ${options.name}') and start it with that token` : '';
      return new NodeCallError('not-this-cluster', `${where} is not this cluster's node ${options.name}: its certificate ${code === 'ERR_TLS_CERT_ALTNAME_INVALID' ? `names another node (${error.message})` : `is not one this cluster's authority signed and holds valid (${code})${waiting}`}`);
    }
    if (/alert|certificate/i.test(error.message)) return new NodeCallError('refused', `${where} refused this caller's certificate (${error.message})`);
    if (UNREACHABLE.has(code)) return new NodeCallError('unreachable', `${where} is unreachable (${code === 'ETIMEDOUT' ? `no answer within ${timeoutMs} ms` : code})`);
    return new NodeCallError('unreachable', `${where}: ${error.message}`);
  };

  const call = async <T>(method: string, body?: unknown, callOptions: CallOptions = {}): Promise<T> => {
    const retries = callOptions.retries ?? options.retries ?? 2;
    const timeoutMs = callOptions.timeoutMs ?? options.timeoutMs ?? 10_000;
    for (let attempt = 0; ; attempt++) {
      try {
        return (await once(method, body, timeoutMs)) as T;
      } catch (error) {
        const failure = classify(error as Error, timeoutMs);
        // Only a call that never reached the node may be sent again.
        if (failure.kind !== 'unreachable' || attempt >= retries) throw failure;
        await sleep((options.retryDelayMs ?? 200) * 2 ** attempt);
      }
    }
  };

  return {
    call,
    facts: async () => {
      const parsed = FactsAnswer.safeParse(await call('facts'));
      if (!parsed.success) throw new NodeCallError('bad-answer', `${where} reported facts that do not hold together ('${parsed.error.issues[0]!.path.join('.')}': ${parsed.error.issues[0]!.message})`);
      if (parsed.data.name !== options.name) throw new NodeCallError('bad-answer', `${where} reports itself as node '${parsed.data.name}'`);
      return parsed.data satisfies NodeFacts;
    },
    close: () => agent.destroy(),
  };
};
