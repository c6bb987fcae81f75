import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { RangeSummary } from '../../domain/log-chain-ranges.js';
import { RANGE_WORKER_SOURCE } from './sqlite-range-worker.js';

const PAGE_SIZE = 10_000;
const PROGRESS_EVERY = 50_000;

/** Where better-sqlite3 is, as this module resolves it: a thread run from a string resolves nothing relative to us. */
const sqliteModule = createRequire(import.meta.url).resolve('better-sqlite3');

/**
 * Walks each range of the SQLite log at `path` in its own worker thread, all at once.
 * Resolves with the ranges' summaries in order; rejects if a thread fails (the caller
 * then walks in one piece). Every thread is ended before this settles.
 */
export const walkSqliteRanges = async (
  path: string,
  ranges: readonly { from: number; to: number }[],
  auditStream: string,
  onProgress?: (rows: number) => void,
): Promise<RangeSummary[]> => {
  const workers = ranges.map(
    ({ from, to }) =>
      new Worker(RANGE_WORKER_SOURCE, { eval: true, workerData: { sqliteModule, path, from, to, auditStream, pageSize: PAGE_SIZE, progressEvery: PROGRESS_EVERY } }),
  );
  try {
    return await Promise.all(
      workers.map(
        (worker) =>
          new Promise<RangeSummary>((resolve, reject) => {
            worker.on('message', (message: { progress?: number; summary?: RangeSummary }) => {
              if (message.progress !== undefined) onProgress?.(message.progress);
              if (message.summary) resolve(message.summary);
            });
            worker.once('error', reject);
            worker.once('exit', (code) => reject(new Error(`a verify thread exited (code ${code}) without its summary`)));
          }),
      ),
    );
  } finally {
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
};
