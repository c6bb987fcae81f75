import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Hypervisor, HypervisorInstance } from '../../domain/ports/hypervisor.js';

/**
 * Ganeti's fake hypervisor: an instance "runs" while a state file for it exists in
 * its node's directory. Writes are atomic (temp file, then rename) so a crash never
 * leaves a half-written state file.
 */
export const createFakeHypervisor = (nodesDir: string): Hypervisor => {
  const dir = (node: string) => join(nodesDir, node, 'fake-hv');
  const file = (node: string, instance: string) => join(dir(node), `${instance}.json`);
  return {
    async start(node, instance: HypervisorInstance) {
      await mkdir(dir(node), { recursive: true });
      const target = file(node, instance.name);
      const temp = `${target}.${process.pid}.tmp`;
      await writeFile(temp, `${JSON.stringify({ ...instance, state: 'running' })}\n`);
      await rename(temp, target);
    },
    async stop(node, instance) {
      await rm(file(node, instance.name), { force: true });
    },
    async cleanup(node, instance) {
      await rm(file(node, instance.name), { force: true });
    },
    async running(node) {
      try {
        return (await readdir(dir(node))).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort();
      } catch {
        return [];
      }
    },
  };
};
