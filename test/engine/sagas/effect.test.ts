import { describe, expect, it } from 'vitest';
import type { StorageContext } from '../../../src/domain/ports/disk-storage.js';
import type { GuestState, Hypervisor, HypervisorInstance } from '../../../src/domain/ports/hypervisor.js';
import { runEffect } from '../../../src/engine/sagas/effect.js';

const vm: HypervisorInstance = { name: 'vm', uuid: 'uuid-vm', memoryMib: 128, vcpus: 1, hypervisor: 'kvm' };
const noStorage = {} as StorageContext;

/** A hypervisor whose destination says `seen` (or fails to answer), recording what resume was told. */
const hypervisorSeeing = (seen: GuestState | undefined | Error) => {
  const resumed: { node: string; evenIfCompleted?: boolean }[] = [];
  const asked: string[] = [];
  const hypervisor = {
    inspect: async (node: string) => {
      asked.push(node);
      if (seen instanceof Error) throw seen;
      return seen;
    },
    live: {
      resume: async (node: string, _instance: HypervisorInstance, options?: { evenIfCompleted?: boolean }) => void resumed.push({ node, ...options }),
    },
  } as unknown as Hypervisor;
  return { hypervisor, resumed, asked };
};
const resume = (hypervisor: Hypervisor, destination?: string) =>
  runEffect({ hypervisor, storage: {} }, { kind: 'hypervisor', action: 'resume', nodeName: 'n1', instance: vm, ...(destination && { destination }) }, noStorage);

describe('taking a live migration back: the source runs again past a completed migration only when its destination does not run the guest', () => {
  it.each([
    ['no QEMU of the guest there', undefined, true],
    ['its QEMU still waits for the stream', { status: 'inmigrate' }, true],
    ['its QEMU paused', { status: 'paused' }, true],
    ['the guest runs there', { status: 'running' }, false],
    ['its node does not answer', new Error('node n2 does not answer'), false],
  ])('%s', async (_, seen, evenIfCompleted) => {
    const { hypervisor, resumed, asked } = hypervisorSeeing(seen);
    await resume(hypervisor, 'n2');
    expect(asked).toEqual(['n2']);
    expect(resumed).toEqual([{ node: 'n1', evenIfCompleted }]);
  });

  it('asks no destination when none is named (the source alone decides: a completed migration is not taken back)', async () => {
    const { hypervisor, resumed, asked } = hypervisorSeeing({ status: 'running' });
    await resume(hypervisor);
    expect(asked).toEqual([]);
    expect(resumed).toEqual([{ node: 'n1', evenIfCompleted: false }]);
  });
});
