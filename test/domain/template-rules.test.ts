import { describe, expect, it } from 'vitest';
import { TEMPLATE_RULES, whyNot, type Operation } from '../../src/domain/template-rules.js';
import { DISK_TEMPLATES } from '../../src/domain/templates.js';

const ALL: Operation[] = ['create', 'remove', 'grow-disk', 'rename', 'activate-disks', 'migrate', 'failover', 'sync-disks', 'choose-target'];

// The table the storage design implies, written out by hand: the rules must agree.
const expected: Record<string, Operation[]> = {
  diskless: ['create', 'remove', 'rename', 'migrate', 'failover', 'choose-target'],
  file: ['create', 'remove', 'rename', 'grow-disk', 'activate-disks'],
  plain: ['create', 'remove', 'rename', 'grow-disk', 'activate-disks'],
  drbd: ['create', 'remove', 'rename', 'grow-disk', 'activate-disks', 'migrate', 'failover', 'sync-disks'],
  sharedfile: ['create', 'remove', 'rename', 'grow-disk', 'activate-disks', 'migrate', 'failover', 'choose-target'],
  blockdev: ['create', 'remove', 'rename', 'activate-disks', 'migrate', 'failover', 'choose-target'],
  ext: ['create', 'remove', 'rename', 'grow-disk', 'activate-disks', 'migrate', 'failover', 'choose-target'],
};

describe('template rules', () => {
  it.each(DISK_TEMPLATES.flatMap((t) => ALL.map((op) => [t, op] as const)))('%s: %s', (template, op) => {
    const allowed = expected[template]!.includes(op);
    expect(TEMPLATE_RULES.get(template)!.allows.has(op)).toBe(allowed);
    expect(whyNot(template, op) === undefined).toBe(allowed);
  });

  it('gives secondaries and sync only to internally mirrored templates', () => {
    expect(DISK_TEMPLATES.filter((t) => TEMPLATE_RULES.get(t)!.needsSecondary)).toEqual(['drbd']);
    expect(TEMPLATE_RULES.get('drbd')!.moveTargets).toBe('secondary');
    expect(TEMPLATE_RULES.get('sharedfile')!.moveTargets).toBe('mobility-domain');
    expect(TEMPLATE_RULES.get('plain')!.moveTargets).toBe('none');
  });

  it('explains refusals in the operator\'s terms', () => {
    expect(whyNot('file', 'migrate')).toBe("'file' disks live on one node only, so the instance cannot migrate");
    expect(whyNot('blockdev', 'grow-disk')).toBe("'blockdev' disks are adopted devices; grow them on the storage side");
    expect(whyNot('drbd', 'choose-target')).toBe("'drbd' instances move only to their secondary node");
  });
});
