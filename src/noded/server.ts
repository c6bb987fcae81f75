import { createServer, type Server } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { join } from 'node:path';
import { createFakeHypervisor } from '../adapters/hypervisors/fake.js';
import { createKvmHypervisor } from '../adapters/hypervisors/kvm.js';
import { chooseAccel, type AccelChoice } from './kvm-accel.js';
import { createFileDiskStorage } from '../adapters/storage/file-disks.js';
import { deviceCalls } from './device-calls.js';
import { diskCalls } from './disk-calls.js';
import { driverCalls } from './driver-calls.js';
import { verifyCalls } from './verify-calls.js';
import { readNodeFacts } from './facts.js';
import { hypervisorCalls, runningOn, type NodeHypervisors } from './hypervisor-calls.js';
import type { NodeDir } from './config.js';
import { listenOn, readBody, reply, type Handler } from './http.js';

/** Ganeti's noded port. */
export const NODED_PORT = 1811;
/**
 * `opl-noded`: HTTPS with mutual TLS under the cluster's authority. The TLS layer itself
 * refuses, during the handshake, a caller with no certificate, one the cluster did not
 * sign, an expired one and a revoked one (the revocation list in the node's directory):
 * no request from such a caller is ever read. Calls are `POST /1/NAME` with a JSON body
 * and answer `{ result }` or `{ error }`.
 */
export const startNodeDaemon = async (node: NodeDir, listen: { host: string; port: number }): Promise<{ server: Server; port: number; kvm?: Promise<AccelChoice> }> => {
  // Both hypervisors keep their guests' state under the node's directory.
  const kvmConfig = node.config.kvm;
  // The probe may take its whole bound: the daemon answers meanwhile, and only a kvm start waits for it.
  const probe = kvmConfig ? chooseAccel(kvmConfig.kernel, kvmConfig.initrd).catch((error: Error): AccelChoice => ({ accel: 'tcg', why: `the KVM probe failed: ${error.message}` })) : undefined;
  let accel: AccelChoice | undefined;
  void probe?.then((choice) => (accel = choice));
  const hypervisors: NodeHypervisors = {
    fake: createFakeHypervisor(join(node.dir, 'hypervisor')),
    ...(kvmConfig &&
      probe && {
        kvm: createKvmHypervisor({
          stateDir: join(node.dir, 'hypervisor'),
          kernel: kvmConfig.kernel,
          ...(kvmConfig.initrd !== undefined && { initrd: kvmConfig.initrd }),
          ...(kvmConfig.append !== undefined && { append: kvmConfig.append }),
          accel: async () => (await probe).accel,
          shutdownTimeoutMs: (kvmConfig.shutdownTimeoutSeconds ?? 120) * 1000,
        }),
      }),
  };
  // `file` disks in the node's own directory; `sharedfile` ones only in a directory node.json gives.
  const files = createFileDiskStorage(node.dir, { fileDir: join(node.dir, 'file-storage'), sharedRoots: node.config.storageDirs });
  const handlers: Record<string, Handler> = {
    ping: () => ({ name: node.config.name }),
    facts: async () => ({ ...readNodeFacts(node.config.name, node.config.storageDirs), instances: await runningOn(node.config.name, hypervisors), ...(accel && { kvm: accel }) }),
    ...hypervisorCalls(node.config.name, hypervisors),
    ...diskCalls(node.config.name, files),
    ...deviceCalls(node.config.name),
    ...driverCalls(node.config.name, node.config.driverDirs, join(node.dir, 'driver-calls')),
    ...verifyCalls(node.config.name, join(node.dir, 'file-storage'), node.config.storageDirs),
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
  return { ...(await listenOn(server, listen)), ...(probe && { kvm: probe }) };
};
