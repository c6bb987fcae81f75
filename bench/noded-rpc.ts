import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, createServer, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { remoteNode } from '../src/adapters/nodes/remote-client.js';
import { caFiles, createClusterCa, issueCertificate, makeKeyAndRequest } from '../src/adapters/pki/openssl-ca.js';
import { startNodeDaemon } from '../src/noded/server.js';
import { listenOn } from '../src/noded/http.js';
import { figure, percentile, type Figure } from './measure.js';

/**
 * One RPC round trip through `opl-noded` (the `ping` call: our server's routing, body
 * parsing, JSON answer; our client's identity check, answer validation, retries) against
 * a bare Node HTTPS request with mutual TLS to a bare HTTPS server answering `{}`. Same
 * machine, same process, same certificates, TLS 1.3, kept-alive connections (the TLS
 * session reused), calls one after another: p50 and p99 of each.
 */
const CALLS = Number(process.env.BENCH_RPC_CALLS ?? 3000);
const WARMUP = 300;

const timedCalls = async (call: () => Promise<unknown>): Promise<number[]> => {
  for (let i = 0; i < WARMUP; i++) await call();
  const times: number[] = [];
  for (let i = 0; i < CALLS; i++) {
    const start = process.hrtime.bigint();
    await call();
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return times.sort((a, b) => a - b);
};

export const benchNodedRpc = async (): Promise<Figure> => {
  const dir = mkdtempSync(join(tmpdir(), 'opl-bench-rpc-'));
  try {
    const caDir = join(dir, 'ca');
    await createClusterCa(caDir, 'bench');
    const certify = async (name: string, kind: 'node' | 'client', names?: string[]) => {
      const { keyPem, csrPem } = await makeKeyAndRequest(name);
      return { keyPem, certPem: await issueCertificate(caDir, { csrPem, commonName: name, kind, ...(names && { names }) }) };
    };
    const [node, client] = await Promise.all([certify('n1', 'node', ['n1', '127.0.0.1']), certify('opl-engine', 'client')]);
    const caPem = readFileSync(caFiles(caDir).cert, 'utf8');
    const crlPem = readFileSync(caFiles(caDir).crl, 'utf8');

    const ours = await startNodeDaemon({ dir, config: { name: 'n1', storageDirs: [], driverDirs: [] }, keyPem: node.keyPem, certPem: node.certPem, caPem, crlPem }, { host: '127.0.0.1', port: 0 });
    const rpc = remoteNode({ name: 'n1', host: '127.0.0.1', port: ours.port, caPem, ...client });
    const oursTimes = await timedCalls(() => rpc.call('ping'));
    rpc.close();
    ours.server.close();

    const bare = await listenOn(
      createServer({ key: node.keyPem, cert: node.certPem, ca: caPem, crl: crlPem, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3' }, (req, res) => {
        req.resume();
        req.on('end', () => res.writeHead(200, { 'content-type': 'application/json', 'content-length': 2 }).end('{}'));
      }),
      { host: '127.0.0.1', port: 0 },
    );
    const agent = new Agent({ keepAlive: true, maxSockets: 1, ca: caPem, ...{ cert: client.certPem, key: client.keyPem }, minVersion: 'TLSv1.3' });
    const bareCall = () =>
      new Promise<void>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port: bare.port, method: 'POST', path: '/', agent, servername: 'n1', headers: { 'content-length': 2 } }, (res) => {
          res.resume();
          res.on('end', resolve);
        });
        req.on('error', reject);
        req.end('{}');
      });
    const bareTimes = await timedCalls(bareCall);
    agent.destroy();
    bare.server.close();

    const us = (times: number[], q: number) => Math.round(percentile(times, q) * 1000);
    return figure({
      bench: 'rpc',
      value: us(oursTimes, 50),
      unit: 'µs p50 per ping through opl-noded',
      reference: us(bareTimes, 50),
      referenceWhat: 'bare Node HTTPS request, mutual TLS, kept alive',
      p99Us: us(oursTimes, 99),
      referenceP99Us: us(bareTimes, 99),
      ratioP99: Math.round((percentile(oursTimes, 99) / percentile(bareTimes, 99)) * 100) / 100,
      calls: CALLS,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};
