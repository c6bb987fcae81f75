/** What the engine asks of a hypervisor on a node. Every call is idempotent. */
export interface HypervisorInstance {
  name: string;
  uuid: string;
  memoryMib: number;
  vcpus: number;
}
export interface Hypervisor {
  start(nodeName: string, instance: HypervisorInstance): Promise<void>;
  stop(nodeName: string, instance: HypervisorInstance): Promise<void>;
  /** Forgets the instance on that node entirely (after removal). */
  cleanup(nodeName: string, instance: HypervisorInstance): Promise<void>;
  running(nodeName: string): Promise<string[]>;
}
