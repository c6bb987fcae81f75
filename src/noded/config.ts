import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

/**
 * A node daemon's directory: its own key (made on the host, never copied), its
 * certificate and the cluster's authority and revocation list, and `node.json`.
 */
export const nodeDirFiles = (dir: string) => ({
  key: join(dir, 'node.key'),
  cert: join(dir, 'node.pem'),
  ca: join(dir, 'ca.pem'),
  crl: join(dir, 'crl.pem'),
  config: join(dir, 'node.json'),
});

const NodeConfig = z.object({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'a node name (letters, digits, ".", "_", "-")'),
  storageDirs: z.array(z.string().startsWith('/', 'an absolute path')).default([]),
  /** Where this node's storage drivers are, before Ganeti's /usr/share/ganeti/extstorage. */
  driverDirs: z.array(z.string().startsWith('/', 'an absolute path')).default([]),
  /** The kernel (and initrd, command line) this node's kvm guests boot; absent: no kvm here. */
  kvm: z
    .object({
      kernel: z.string().startsWith('/', 'an absolute path'),
      initrd: z.string().startsWith('/', 'an absolute path').optional(),
      append: z.string().max(4096).optional(),
      /** Seconds `stop` waits after the ACPI power button before ending QEMU (Ganeti's default: 120; the engine waits for 180 s at most). */
      shutdownTimeoutSeconds: z.number().positive().max(150).optional(),
    })
    .strict()
    .optional(),
});
export type NodeConfig = z.infer<typeof NodeConfig>;

export class NodeConfigError extends Error {}

const readText = (file: string, what: string): string => {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new NodeConfigError(`cannot read ${what} ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
};

export interface NodeDir {
  /** The directory itself: the node's own state (its hypervisor's) lives under it. */
  dir: string;
  config: NodeConfig;
  keyPem: string;
  certPem: string;
  caPem: string;
  crlPem: string | undefined;
}

/** `node.json` alone: what a node that has not joined yet has. */
export const readNodeConfig = (dir: string): NodeConfig => {
  const files = nodeDirFiles(dir);
  let json: unknown;
  try {
    json = JSON.parse(readText(files.config, 'the node configuration'));
  } catch (error) {
    if (error instanceof NodeConfigError) throw error;
    throw new NodeConfigError(`${files.config} is not JSON: ${(error as Error).message}`);
  }
  const parsed = NodeConfig.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new NodeConfigError(`${files.config}: '${issue.path.join('.') || '(top)'}' must be ${issue.message}`);
  }
  return parsed.data;
};

/** Whether the directory holds a node that joined a cluster (its certificate is written last). */
export const hasJoined = (dir: string): boolean => existsSync(nodeDirFiles(dir).cert);

/** Writes `node.json` for a node that is about to join. */
export const writeNodeConfig = (dir: string, config: { name: string; storageDirs?: string[]; driverDirs?: string[] }): NodeConfig => {
  const parsed = NodeConfig.safeParse(config);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const index = Number(issue.path[1]);
    const flag =
      issue.path[0] === 'storageDirs' ? `--storage-dir '${config.storageDirs?.[index] ?? ''}'` : issue.path[0] === 'driverDirs' ? `--driver-dir '${config.driverDirs?.[index] ?? ''}'` : `--name '${config.name}'`;
    throw new NodeConfigError(`${flag}: expected ${issue.message}`);
  }
  writeFileSync(nodeDirFiles(dir).config, `${JSON.stringify(parsed.data, null, 2)}\n`);
  return parsed.data;
};

export const readNodeDir = (dir: string): NodeDir => {
  const files = nodeDirFiles(dir);
  const config = readNodeConfig(dir);
  let crlPem: string | undefined;
  try {
    crlPem = readFileSync(files.crl, 'utf8');
  } catch {
    crlPem = undefined; // no revocation list yet: nothing revoked
  }
  return {
    dir,
    config,
    keyPem: readText(files.key, "the node's key"),
    certPem: readText(files.cert, "the node's certificate"),
    caPem: readText(files.ca, "the cluster's authority certificate"),
    crlPem,
  };
};
