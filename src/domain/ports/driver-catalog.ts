/** Where storage drivers are found: a pool may only name one that is there. */
export interface DriverCatalog {
  find(name: string): Promise<string | undefined>;
  readonly searchPath: readonly string[];
}
