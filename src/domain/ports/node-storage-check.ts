import type { StorageSurvey } from '../verify-disks.js';

/** A file one node writes in the shared directory for the others to read. */
export interface Probe {
  name: string;
  token: string;
}

/**
 * What `cluster verify` asks each node about its file storage, on that node: what it
 * holds in its `file` directory and sees in the shared one (writing a probe there if
 * asked), which probes other nodes wrote it cannot read, and the removal of its own.
 */
export interface NodeStorageCheck {
  survey(node: string, sharedDir: string | undefined, probe?: Probe): Promise<StorageSurvey>;
  unseen(node: string, sharedDir: string, probes: readonly Probe[]): Promise<Probe[]>;
  removeProbe(node: string, sharedDir: string, name: string): Promise<void>;
}
