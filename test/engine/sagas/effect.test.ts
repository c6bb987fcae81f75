import { describe, expect, it } from 'vitest';
import type { StorageContext } from '../../../src/domain/ports/disk-storage.js';
import type { GuestState, Hypervisor, HypervisorInstance } from '../../../src/domain/ports/hypervisor.js';
import { effectSummary, runEffect, type Effect } from '../../../src/engine/sagas/effect.js';

const vm: HypervisorInstance = { name: 'vm', uuid: 'uuid-vm', memoryMib: 128, vcpus: 1, hypervisor: 'kvm' };
const noStorage = {} as StorageContext;

/** A hypervisor whose destination says `seen` (or fails to answer), recording what was asked of it. */
const hypervisorSeeing = (seen: GuestState | undefined | Error, withdrawRefused = false) => {
  const calls: string[] = [];
  const hypervisor = {
    inspect: async (node: string) => {
      calls.push(`inspect ${node}`);
      if (seen instanceof Error) throw seen;
      return seen;
    },
    live: {
      withdraw: async (node: string) => {
        calls.push(`withdraw ${node}`);
        if (withdrawRefused) throw new Error(`vm has run on node ${node} ('running')`);
      },
      resume: async (node: string, _instance: HypervisorInstance, options?: { evenIfCompleted?: boolean }) => void calls.push(`resume ${node} evenIfCompleted=${options?.evenIfCompleted}`),
    },
  } as unknown as Hypervisor;
  return { hypervisor, calls };
};
const resumeEffect = (destination?: string): Effect => ({ kind: 'hypervisor', action: 'resume', nodeName: 'n1', instance: vm, ...(destination && { destination }) });
const resume = (hypervisor: Hypervisor, destination?: string, lines: string[] = []) => runEffect({ hypervisor, storage: {} }, resumeEffect(destination), noStorage, (l) => lines.push(l));

describe('taking a live migration back: the source runs again past a completed migration only when its destination holds no guest that ran', () => {
  it('runs it again when no QEMU of the guest is there', async () => {
    const { hypervisor, calls } = hypervisorSeeing(undefined);
    await resume(hypervisor, 'n2');
    expect(calls).toEqual(['inspect n2', 'resume n1 evenIfCompleted=true']);
  });

  it('ends a destination still waiting for the stream first (it would run by itself once the stream is in), then runs the source', async () => {
    const { hypervisor, calls } = hypervisorSeeing({ status: 'inmigrate' });
    const lines: string[] = [];
    await resume(hypervisor, 'n2', lines);
    expect(calls).toEqual(['inspect n2', 'withdraw n2', 'resume n1 evenIfCompleted=true']);
    expect(lines).toEqual(['ending instance vm on node n2, where it still waited for the stream, before the source runs again']);
  });

  it('leaves the source paused when the waiting destination started running before it was ended', async () => {
    const { hypervisor, calls } = hypervisorSeeing({ status: 'inmigrate' }, true);
    await expect(resume(hypervisor, 'n2')).rejects.toThrow(/has run on node n2/);
    expect(calls).toEqual(['inspect n2', 'withdraw n2']);
  });

  it.each([
    ['the guest runs there', { status: 'running' }, 'running'],
    ['it ran there and is paused', { status: 'paused' }, 'paused'],
    ['its QEMU finishing the stream', { status: 'finish-migrate' }, 'finish-migrate'],
    ['its monitor busy', { status: 'unknown (its monitor is busy or does not answer)' }, 'unknown'],
    ['its node does not answer', new Error('node n2 does not answer'), 'no answer \\(node n2 does not answer\\)'],
  ])('leaves the destination alone and tells the source not to run past a completed migration: %s', async (_, seen, said) => {
    const { hypervisor, calls } = hypervisorSeeing(seen);
    const lines: string[] = [];
    await resume(hypervisor, 'n2', lines);
    expect(calls).toEqual(['inspect n2', 'resume n1 evenIfCompleted=false']);
    expect(lines).toEqual([expect.stringMatching(new RegExp(`^instance vm on node n2, the migration's destination, is ${said}.*: the source is not run again beside it$`))]);
  });

  it('asks no destination when none is named (the source alone decides: a completed migration is not taken back)', async () => {
    const { hypervisor, calls } = hypervisorSeeing({ status: 'running' });
    await resume(hypervisor);
    expect(calls).toEqual(['resume n1 evenIfCompleted=false']);
  });

  it('records the destination in the intent, for a successor and an auditor', () => {
    expect(effectSummary(resumeEffect('n2'))).toMatchObject({ action: 'resume', node: 'n1', destination: 'n2' });
  });
});
