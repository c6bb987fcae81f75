/** What the engine asks of a hypervisor on a node. Every call is idempotent. */
export interface HypervisorInstance {
  name: string;
  uuid: string;
  memoryMib: number;
  vcpus: number;
  /** Which of the node's hypervisors runs it (Ganeti's -H); fake when not said. */
  hypervisor?: 'fake' | 'kvm';
}
export interface Hypervisor {
  start(nodeName: string, instance: HypervisorInstance): Promise<void>;
  stop(nodeName: string, instance: HypervisorInstance): Promise<void>;
  /** Forgets the instance on that node entirely (after removal). */
  cleanup(nodeName: string, instance: HypervisorInstance): Promise<void>;
  running(nodeName: string): Promise<string[]>;
}
