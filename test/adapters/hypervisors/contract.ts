import { describe, expect, it } from 'vitest';
import type { Hypervisor } from '../../../src/domain/ports/hypervisor.js';

/** One hypervisor adapter under test, on one node it may act on, and what it leaves behind. */
export interface HypervisorUnderTest {
  hypervisor: Hypervisor;
  node: string;
  /** Another node the same adapter reaches: what runs there is not this node's. */
  otherNode: string;
}

/**
 * What every hypervisor adapter promises the engine (the port's contract): calls are
 * idempotent, `running` lists exactly what was started and not stopped, per node, and
 * `cleanup` forgets an instance whether it runs or not.
 */
export const hypervisorContract = (label: string, setup: () => HypervisorUnderTest) => {
  describe(`hypervisor contract: ${label}`, () => {
    const web = { name: 'web', uuid: 'u-web', memoryMib: 256, vcpus: 1 };
    const db = { name: 'db.example', uuid: 'u-db', memoryMib: 512, vcpus: 2 };

    it('lists what was started, sorted, and nothing else; starting twice runs it once', async () => {
      const { hypervisor, node, otherNode } = setup();
      expect(await hypervisor.running(node)).toEqual([]);
      await hypervisor.start(node, web);
      await hypervisor.start(node, web);
      await hypervisor.start(node, db);
      expect(await hypervisor.running(node)).toEqual(['db.example', 'web']);
      expect(await hypervisor.running(otherNode)).toEqual([]);
      await hypervisor.stop(node, web);
      await hypervisor.stop(node, db);
    });

    it('stops idempotently, also what never ran', async () => {
      const { hypervisor, node } = setup();
      await hypervisor.start(node, web);
      await hypervisor.stop(node, web);
      await hypervisor.stop(node, web);
      await hypervisor.stop(node, db);
      expect(await hypervisor.running(node)).toEqual([]);
    });

    it('cleans up a running instance and one it never knew', async () => {
      const { hypervisor, node } = setup();
      await hypervisor.start(node, db);
      await hypervisor.cleanup(node, db);
      await hypervisor.cleanup(node, web);
      expect(await hypervisor.running(node)).toEqual([]);
    });

    it('keeps nodes apart: what runs on one is not stopped by a stop on the other', async () => {
      const { hypervisor, node, otherNode } = setup();
      await hypervisor.start(node, web);
      await hypervisor.stop(otherNode, web);
      expect(await hypervisor.running(node)).toEqual(['web']);
      await hypervisor.stop(node, web);
    });
  });
};
