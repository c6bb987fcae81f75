import { describe, expect, it } from 'vitest';
import { nodeRoutedMigration } from '../../src/adapters/hypervisors/node-routed-migration.js';
import type { NodeCaller } from '../../src/adapters/hypervisors/node-routed.js';
import type { LiveMigration } from '../../src/domain/ports/hypervisor.js';
import { migrationCalls } from '../../src/noded/migration-calls.js';

const vm = { name: 'vm', uuid: 'u-vm', memoryMib: 128, vcpus: 1, hypervisor: 'kvm' as const };

/**
 * Taking a migration back, engine to node and back: the engine's client sends what the
 * node's handlers take (`evenIfCompleted` included, never lost on the way), and the node
 * hands it to its hypervisor as it came.
 */
const wired = () => {
  const told: string[] = [];
  const live = {
    resume: async (node: string, _instance: unknown, options?: { evenIfCompleted?: boolean }) => void told.push(`resume ${node} evenIfCompleted=${options?.evenIfCompleted}`),
    withdraw: async (node: string) => void told.push(`withdraw ${node}`),
  } as unknown as LiveMigration;
  const handlers = migrationCalls('n1', live);
  const caller: NodeCaller = { call: async (method, body) => handlers[method]!(body) };
  return { client: nodeRoutedMigration(() => caller), handlers, told };
};

describe("a migration taken back, through the node's calls", () => {
  it('carries evenIfCompleted to the source as it was said, and withdraw to the destination', async () => {
    const { client, told } = wired();
    await client.resume('n1', vm);
    await client.resume('n1', vm, { evenIfCompleted: true });
    await client.withdraw('n1', vm);
    expect(told).toEqual(['resume n1 evenIfCompleted=false', 'resume n1 evenIfCompleted=true', 'withdraw n1']);
  });

  it('refuses a resume whose evenIfCompleted is not a yes or no, in one line, telling the hypervisor nothing', async () => {
    const { handlers, told } = wired();
    await expect(handlers['hv-resume']!({ node: 'n1', instance: vm, evenIfCompleted: 'yes' })).rejects.toThrow(/^a migration resume call whose 'evenIfCompleted' is not valid/);
    expect(told).toEqual([]);
  });
});
