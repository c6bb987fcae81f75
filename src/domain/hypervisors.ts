/** Ganeti's hypervisor names that opledger has: `fake` (tests, the demo) and `kvm` (QEMU). */
export const HYPERVISORS = ['fake', 'kvm'] as const;
export type HypervisorName = (typeof HYPERVISORS)[number];
/** A cluster recorded before hypervisors could be chosen had only the fake one. */
export const DEFAULT_ENABLED_HYPERVISORS: HypervisorName[] = ['fake'];
