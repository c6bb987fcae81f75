import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { readNodeFacts } from './facts.js';
import type { NodeDir } from './config.js';

/** Ganeti's noded port. */
export const NODED_PORT = 1811;
/** No request we serve needs more; a larger one is refused before it is read whole. */
const MAX_BODY_BYTES = 1 << 20;

type Handler = (body: unknown) => Promise<unknown> | unknown;

const reply = (res: ServerResponse, status: number, body: unknown) => {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
};

const readBody = (req: IncomingMessage): Promise<unknown> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(Object.assign(new Error(`a request body over ${MAX_BODY_BYTES} bytes`), { status: 413 }));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      try {
        resolve(text === '' ? {} : JSON.parse(text));
      } catch {
        reject(Object.assign(new Error('a request body that is not JSON'), { status: 400 }));
      }
    });
    req.on('error', reject);
  });

/**
 * `opl-noded`: HTTPS with mutual TLS under the cluster's authority. The TLS layer itself
 * refuses, during the handshake, a caller with no certificate, one the cluster did not
 * sign, an expired one and a revoked one (the revocation list in the node's directory):
 * no request from such a caller is ever read. Calls are `POST /1/NAME` with a JSON body
 * and answer `{ result }` or `{ error }`.
 */
export const startNodeDaemon = (node: NodeDir, listen: { host: string; port: number }): Promise<{ server: Server; port: number }> => {
  const handlers: Record<string, Handler> = {
    ping: () => ({ name: node.config.name }),
    facts: () => readNodeFacts(node.config.name, node.config.storageDirs),
  };
  const server = createServer(
    {
      key: node.keyPem,
      cert: node.certPem,
      ca: node.caPem,
      ...(node.crlPem !== undefined && { crl: node.crlPem }),
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.3',
    },
    (req, res) => {
      void (async () => {
        // Belt and braces: the handshake already refused anyone not authorised.
        if (!(req.socket as TLSSocket).authorized) return reply(res, 401, { error: 'a caller without a certificate of this cluster' });
        const match = /^\/1\/([a-z-]+)$/.exec(req.url ?? '');
        const handler = match && Object.hasOwn(handlers, match[1]!) ? handlers[match[1]!]! : undefined;
        if (req.method !== 'POST' || !handler) return reply(res, 404, { error: `no call ${req.method} ${req.url} on this node (calls are POST /1/NAME)` });
        try {
          const body = await readBody(req);
          reply(res, 200, { result: await handler(body) });
        } catch (error) {
          reply(res, (error as { status?: number }).status ?? 500, { error: (error as Error).message });
        }
      })();
    },
  );
  // A refused handshake is the caller's problem, not the daemon's: it is not logged as an error.
  server.on('tlsClientError', () => undefined);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => {
      server.off('error', reject);
      const address = server.address();
      resolve({ server, port: typeof address === 'object' && address ? address.port : listen.port });
    });
  });
};
