/**
 * Disk templates and the classes the shared-storage design sorts them into.
 * Rules ask these sets what a template *means* (can it move? does it need a
 * secondary?), never a list of names at the call site.
 */
export const DISK_TEMPLATES = ['diskless', 'file', 'plain', 'drbd', 'sharedfile', 'blockdev', 'ext'] as const;
export type DiskTemplate = (typeof DISK_TEMPLATES)[number];

/** Mirrored by us: needs a secondary node and disk sync. */
export const DTS_INT_MIRROR: ReadonlySet<DiskTemplate> = new Set(['drbd']);
/** Mirrored by the storage itself: no secondary, may run on any node that reaches it. */
export const DTS_EXT_MIRROR: ReadonlySet<DiskTemplate> = new Set(['diskless', 'sharedfile', 'blockdev', 'ext']);
/** Can fail over or migrate at all. */
export const DTS_MIRRORED: ReadonlySet<DiskTemplate> = new Set([...DTS_INT_MIRROR, ...DTS_EXT_MIRROR]);
/** Disks live on one node only. */
export const DTS_LOCAL: ReadonlySet<DiskTemplate> = new Set(['file', 'plain']);
/** Templates this engine can provision today; the others are known to the model only. */
export const DTS_PROVISIONED: ReadonlySet<DiskTemplate> = new Set(['diskless', 'file', 'sharedfile', 'blockdev', 'ext']);

export const isDiskTemplate = (name: string): name is DiskTemplate =>
  (DISK_TEMPLATES as readonly string[]).includes(name);

/** The allocator built into opledger, also shipped as the `opl-ialloc` program; the cluster's default. */
export const BUILTIN_IALLOCATOR = 'opl-ialloc';
