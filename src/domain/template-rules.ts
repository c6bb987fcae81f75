import {
  DISK_TEMPLATES,
  DTS_EXT_MIRROR,
  DTS_INT_MIRROR,
  DTS_LOCAL,
  DTS_MIRRORED,
  type DiskTemplate,
} from './templates.js';

/**
 * What each template allows, derived from the template classes and nothing else, so
 * that a rule reads "can this move?" rather than a list of names.
 */
export type Operation =
  | 'create'
  | 'remove'
  | 'grow-disk'
  | 'rename'
  | 'activate-disks'
  | 'migrate'
  | 'failover'
  | 'sync-disks'
  | 'choose-target';

/** Where an instance of this template may move to, if anywhere. */
export type MoveTargets = 'none' | 'secondary' | 'mobility-domain';

export interface TemplateRules {
  template: DiskTemplate;
  /** How its disks come to be: none at all, made to a size, or adopted as they are. */
  disks: 'none' | 'sized' | 'adopted';
  needsSecondary: boolean;
  moveTargets: MoveTargets;
  allows: ReadonlySet<Operation>;
}

const diskKind = (t: DiskTemplate): TemplateRules['disks'] =>
  t === 'diskless' ? 'none' : t === 'blockdev' ? 'adopted' : 'sized';

export const rulesFor = (template: DiskTemplate): TemplateRules => {
  const disks = diskKind(template);
  const mirrored = DTS_MIRRORED.has(template);
  const moveTargets: MoveTargets = DTS_INT_MIRROR.has(template)
    ? 'secondary'
    : DTS_EXT_MIRROR.has(template)
      ? 'mobility-domain'
      : 'none';
  const allows = new Set<Operation>(['create', 'remove', 'rename']);
  // Adopted devices are the storage team's: we never resize what we did not make.
  if (disks === 'sized') allows.add('grow-disk');
  if (disks !== 'none') allows.add('activate-disks');
  if (mirrored) {
    allows.add('migrate');
    allows.add('failover');
  }
  if (DTS_INT_MIRROR.has(template)) allows.add('sync-disks');
  if (moveTargets === 'mobility-domain') allows.add('choose-target');
  return { template, disks, needsSecondary: DTS_INT_MIRROR.has(template), moveTargets, allows };
};

export const TEMPLATE_RULES: ReadonlyMap<DiskTemplate, TemplateRules> = new Map(
  DISK_TEMPLATES.map((t) => [t, rulesFor(t)]),
);

/** Why an operation is refused for a template, in words an operator can act on. */
export const whyNot = (template: DiskTemplate, operation: Operation): string | undefined => {
  const rules = rulesFor(template);
  if (rules.allows.has(operation)) return undefined;
  if ((operation === 'migrate' || operation === 'failover') && DTS_LOCAL.has(template)) {
    return `'${template}' disks live on one node only, so the instance cannot ${operation}`;
  }
  if (operation === 'grow-disk' && rules.disks === 'adopted') {
    return `'${template}' disks are adopted devices; grow them on the storage side`;
  }
  if (operation === 'choose-target' && rules.moveTargets === 'secondary') {
    return `'${template}' instances move only to their secondary node`;
  }
  if (operation === 'sync-disks') return `'${template}' disks are not mirrored by us, there is nothing to sync`;
  return `'${template}' does not support ${operation}`;
};
