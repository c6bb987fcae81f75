import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFakeHypervisor } from '../../../src/adapters/hypervisors/fake.js';
import { hypervisorContract } from './contract.js';

hypervisorContract('the fake hypervisor, local', () => ({ hypervisor: createFakeHypervisor(mkdtempSync(join(tmpdir(), 'opl-fake-'))), node: 'n1', otherNode: 'n2' }));

describe('fake hypervisor', () => {
  it('keeps one state file per running instance in its node directory', async () => {
    const nodes = mkdtempSync(join(tmpdir(), 'opl-fake-'));
    const hv = createFakeHypervisor(nodes);
    const web = { name: 'web', uuid: 'u1', memoryMib: 512, vcpus: 1 };
    await hv.start('n1', web);
    expect(JSON.parse(readFileSync(join(nodes, 'n1', 'fake-hv', 'web.json'), 'utf8'))).toMatchObject({ state: 'running', memoryMib: 512 });
    expect(readdirSync(join(nodes, 'n1', 'fake-hv'))).toEqual(['web.json']);
    expect(await hv.running('never-seen')).toEqual([]);
  });
});
