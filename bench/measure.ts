/** One benchmark figure, printed as one JSON line next to its reference and the ratio. */
interface Core {
  bench: 'append' | 'append-chain' | 'replay' | 'verify' | 'jobs' | 'allocate' | 'relocate' | 'saga' | 'saga-netns' | 'rpc' | 'cluster-verify' | 'kvm-migrate';
  store?: 'sqlite' | 'postgres';
  value: number;
  unit: string;
  reference: number | null;
  referenceWhat?: string;
}
export type Figure = Core & { ratio: number | null } & Record<string, unknown>;

export const figure = (f: Core & Record<string, unknown>): Figure => ({
  ...f,
  value: round(f.value),
  reference: f.reference === null ? null : round(f.reference),
  ratio: f.reference === null || f.reference === 0 ? null : round(f.value / f.reference),
});

export const round = (n: number): number => Math.round(n * 100) / 100;

export const seconds = async (fn: () => Promise<void> | void): Promise<number> => {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e9;
};

export const percentile = (sorted: number[], p: number): number =>
  sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
