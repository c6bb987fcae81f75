import { describe, expect, it } from 'vitest';
import { nodeRoutedGuests } from '../../../src/adapters/hypervisors/node-routed-guests.js';
import type { NodeCaller } from '../../../src/adapters/hypervisors/node-routed.js';

/** A node that answers every call with what it is given, and says what it was asked. */
const answering = (answer: unknown) => {
  const asked: { method: string; body: unknown }[] = [];
  const caller: NodeCaller = { call: async (method, body) => (asked.push({ method, body }), answer) };
  return { guests: nodeRoutedGuests(() => caller), asked };
};
const piece = (text: string, next: number, size: number) => ({ data: Buffer.from(text).toString('base64'), next, size });
const vm = { name: 'vm', uuid: 'u-vm', memoryMib: 128, vcpus: 1, hypervisor: 'kvm' as const };

describe('a guest asked of its node, the answers checked before they are believed', () => {
  it('takes a console piece that adds up: from where it was asked, or from 0 for a console made again', async () => {
    expect(await answering(piece('abc', 13, 20)).guests.console('n1', 'vm', 10)).toEqual({ data: Buffer.from('abc'), next: 13, size: 20 });
    expect(await answering(piece('ab', 2, 2)).guests.console('n1', 'vm', 50)).toEqual({ data: Buffer.from('ab'), next: 2, size: 2 });
    const { guests, asked } = answering(piece('', 0, 0));
    await guests.console('n1', 'vm', 0);
    expect(asked).toEqual([{ method: 'hv-console', body: { node: 'n1', name: 'vm', offset: 0 } }]);
  });

  it('refuses a piece that does not add up, one past the console, and one that is not base64, in one line', async () => {
    await expect(answering(piece('abc', 20, 20)).guests.console('n1', 'vm', 10)).rejects.toThrow(
      'node n1 answered a console piece that does not add up (from 10: 3 bytes, next 20, size 20)',
    );
    await expect(answering(piece('abc', 13, 12)).guests.console('n1', 'vm', 10)).rejects.toThrow(/does not add up/);
    await expect(answering({ data: '%%%', next: 3, size: 3 }).guests.console('n1', 'vm', 0)).rejects.toThrow('node n1 answered a piece of a console with something that is not one');
  });

  it("takes QEMU's view or none, and refuses anything else", async () => {
    expect(await answering({ guest: { status: 'running', pid: 42, memoryMib: 128 } }).guests.inspect('n1', vm)).toEqual({ status: 'running', pid: 42, memoryMib: 128 });
    expect(await answering({ guest: null }).guests.inspect('n1', vm)).toBeUndefined();
    await expect(answering({ guest: { status: 'x'.repeat(65) } }).guests.inspect('n1', vm)).rejects.toThrow('node n1 answered what its hypervisor says of a guest with something that is not one');
    await expect(answering({ guest: { status: 'running', pid: -1 } }).guests.inspect('n1', vm)).rejects.toThrow(/with something that is not one/);
  });
});
