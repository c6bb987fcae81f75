/**
 * The body of one `audit verify` worker thread: walks positions FROM..TO of an SQLite log
 * opened read-only and posts a `RangeSummary` (src/domain/log-chain-ranges.ts), with
 * `{ progress }` messages on the way.
 *
 * It is plain JavaScript run with `eval`, not a module file: the same text then works
 * from the bundle, from tsc's output and under the test runner, none of which can load
 * a TypeScript file in a thread. It imports nothing of ours, so it repeats the hashed
 * text of `chainHash` (src/domain/log-chain.ts); a difference there could only make an
 * intact log look damaged, and then `audit verify` walks it again in one piece with the
 * shared code, so a report never depends on this copy. A test holds the two equal.
 */
export const RANGE_WORKER_SOURCE = String.raw`
const { parentPort, workerData } = require('node:worker_threads');
const crypto = require('node:crypto');
const Database = require(workerData.sqliteModule);
const sha256Hex = typeof crypto.hash === 'function'
  ? (text) => crypto.hash('sha256', text, 'hex')
  : (text) => crypto.createHash('sha256').update(text).digest('hex');
const { path, from, to, auditStream, pageSize, progressEvery } = workerData;
const db = new Database(path, { readonly: true, fileMustExist: true });
const page = db.prepare('SELECT position, stream, revision, id, type, data, metadata, prev_hash, hash FROM opl_events WHERE position >= ? AND position <= ? ORDER BY position LIMIT ?').raw();
const first = new Map();
const last = new Map();
const auditRows = [];
let expected = from;
let lastHash = '';
let firstPrevHash = '';
let whole = true;
let sinceProgress = 0;
walk: for (;;) {
  const rows = page.all(expected, to, pageSize);
  for (const r of rows) {
    const [position, stream, revision, id, type, data, metadata, prevHash, hash] = r;
    if (position !== expected) { whole = false; break walk; }
    if (sha256Hex(position + '\0' + stream + '\0' + revision + '\0' + id + '\0' + type + '\0' + data + '\0' + metadata + '\0' + prevHash) !== hash) { whole = false; break walk; }
    if (position === from) firstPrevHash = prevHash;
    else if (prevHash !== lastHash) { whole = false; break walk; }
    const seen = last.get(stream);
    if (seen === undefined) first.set(stream, revision);
    else if (revision !== seen + 1) { whole = false; break walk; }
    last.set(stream, revision);
    if (stream === auditStream) auditRows.push(r);
    lastHash = hash;
    expected++;
  }
  sinceProgress += rows.length;
  if (sinceProgress >= progressEvery) { parentPort.postMessage({ progress: sinceProgress }); sinceProgress = 0; }
  if (rows.length < pageSize || expected > to) break;
}
if (expected !== to + 1) whole = false;
db.close();
parentPort.postMessage({ summary: whole
  ? { from, to, whole, firstPrevHash, lastHash, streams: [...first.keys()], firstRevisions: [...first.values()], lastRevisions: [...last.values()], auditRows }
  : { from, to, whole, firstPrevHash: '', lastHash: '', streams: [], firstRevisions: [], lastRevisions: [], auditRows: [] } });
`;
