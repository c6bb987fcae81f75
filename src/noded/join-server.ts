import { X509Certificate, createPrivateKey } from 'node:crypto';
import { renameSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { z } from 'zod';
import { completionProof, proofHolds, requestProof } from '../domain/join-proof.js';
import { makeKeyAndRequest, makeSelfSigned } from '../adapters/pki/openssl-ca.js';
import { nodeDirFiles, type NodeConfig } from './config.js';
import { listenOn, readBody, reply } from './http.js';

/**
 * `opl-noded --join TOKEN`: a node not yet in a cluster. It makes its own key and a
 * signing request, serves HTTPS with a certificate it signed itself (nobody can check it
 * yet: the HMAC proofs carry the trust, see domain/join-proof.ts), and answers two calls:
 *
 * - `join-request {nonce}` → its signing request, proven with the token;
 * - `join-complete {certPem, caPem, crlPem, proof}` → taken only if the proof holds and
 *   the certificate is for its own key, signed by that authority, for its name. The
 *   files are written (key 0600), and the caller gets its answer from the daemon
 *   already serving mutual TLS on the same address, so its next call finds it there.
 *
 * Everything else is refused. A wrong proof changes nothing.
 */
const JoinRequest = z.object({ nonce: z.string().regex(/^[0-9a-f]{32,128}$/, 'hex, 32 to 128 digits') });
const JoinComplete = z.object({ certPem: z.string().max(64 << 10), caPem: z.string().max(64 << 10), crlPem: z.string().max(1 << 20), proof: z.string() });

class Refusal extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const parse = <T>(schema: z.ZodType<T>, body: unknown, call: string): T => {
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Refusal(400, `${call}: '${issue.path.join('.') || '(body)'}' must be ${issue.message}`);
  }
  return parsed.data;
};

/** The certificate the cluster hands back must be for this node's key, signed by the authority handed with it, naming the node. */
const certificateProblem = (name: string, keyPem: string, certPem: string, caPem: string): string | undefined => {
  let cert: X509Certificate;
  let ca: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
    ca = new X509Certificate(caPem);
  } catch {
    return 'the certificate or the authority handed over is not a certificate';
  }
  if (!ca.ca) return 'the authority handed over is not a certificate authority';
  if (!cert.verify(ca.publicKey)) return 'the certificate was not signed by the authority handed with it';
  if (!cert.checkPrivateKey(createPrivateKey(keyPem))) return "the certificate is not for this node's key";
  if (cert.checkHost(name) === undefined) return `the certificate does not name node ${name}`;
  return undefined;
};

export interface JoinOptions {
  dir: string;
  config: NodeConfig;
  token: string;
  listen: { host: string; port: number };
  /** Called once the files are written: starts the mutual-TLS daemon on the port the join used. */
  serve: (port: number) => Promise<Server>;
}

export interface JoiningDaemon {
  port: number;
  /** The server serving now: the join server, then the daemon's. */
  current: () => Server;
  joined: Promise<void>;
}

export const startJoinServer = async (options: JoinOptions): Promise<JoiningDaemon> => {
  const { name } = options.config;
  const [request, tls] = await Promise.all([makeKeyAndRequest(name), makeSelfSigned(name)]);
  const fingerprint = new X509Certificate(tls.certPem).fingerprint256;
  let current: Server;
  let port = 0;
  let markJoined!: () => void;
  const joined = new Promise<void>((resolve) => (markJoined = resolve));
  let done = false;

  const complete = async (body: unknown): Promise<Server> => {
    const given = parse(JoinComplete, body, 'join-complete');
    if (!proofHolds(completionProof(options.token, name, given.certPem, given.caPem, given.crlPem), given.proof)) {
      throw new Refusal(403, 'join-complete: the proof does not hold: the caller does not have the join token this node was started with');
    }
    const problem = certificateProblem(name, request.keyPem, given.certPem, given.caPem);
    if (problem) throw new Refusal(400, `join-complete: ${problem}`);
    const files = nodeDirFiles(options.dir);
    // The key first and the certificate last: a directory with node.pem is a joined node.
    const put = (file: string, text: string, mode = 0o644) => {
      writeFileSync(`${file}.new`, text, { mode });
      renameSync(`${file}.new`, file);
    };
    put(files.key, request.keyPem, 0o600);
    put(files.ca, given.caPem);
    put(files.crl, given.crlPem);
    put(files.cert, given.certPem);
    current.close();
    return options.serve(port);
  };

  const server = createServer({ key: tls.keyPem, cert: tls.certPem, minVersion: 'TLSv1.3' }, (req, res) => {
    void (async () => {
      try {
        if (req.method !== 'POST' || (req.url !== '/1/join-request' && req.url !== '/1/join-complete')) {
          throw new Refusal(404, `this node is waiting to join a cluster: it answers only POST /1/join-request and /1/join-complete, not ${req.method} ${req.url}`);
        }
        if (done) throw new Refusal(409, 'this node has joined already');
        const body = await readBody(req);
        if (req.url === '/1/join-request') {
          const { nonce } = parse(JoinRequest, body, 'join-request');
          return reply(res, 200, { result: { name, csrPem: request.csrPem, proof: requestProof(options.token, name, request.csrPem, nonce, fingerprint) } });
        }
        done = true;
        try {
          current = await complete(body);
        } catch (error) {
          done = false;
          throw error;
        }
        res.once('finish', () => {
          server.closeAllConnections();
          markJoined();
        });
        reply(res, 200, { result: { joined: name } });
      } catch (error) {
        const status = error instanceof Refusal ? error.status : 500;
        reply(res, status, { error: (error as Error).message });
      }
    })();
  });
  server.on('tlsClientError', () => undefined);
  current = server;
  ({ port } = await listenOn(server, options.listen));
  return { port, current: () => current, joined };
};

