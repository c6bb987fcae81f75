/** Finding and running external allocator programs. */
export interface IallocatorRun {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  durationMs: number;
}

export interface Iallocators {
  /** The program `-I NAME` or `-I PATH` means, if there is one. */
  find(name: string): Promise<string | undefined>;
  run(program: string, request: unknown, timeoutMs: number): Promise<IallocatorRun>;
}
