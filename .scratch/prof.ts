import { createSqliteEventStore } from '../src/adapters/stores/sqlite.js';
import { openPreChainAppender } from '../bench/append-before.js';
import { randomUUID } from 'node:crypto';
const which = process.argv[2];
const dir = '/tmp/prof-' + process.pid;
import { mkdirSync, rmSync } from 'node:fs';
mkdirSync(dir);
const store: any = which === 'before' ? openPreChainAppender(dir + '/b.sqlite') : createSqliteEventStore(dir + '/a.sqlite');
const revs = new Map<string, bigint>();
const N = 20000;
const evs = Array.from({ length: N }, (_, i) => ({ id: randomUUID(), type: 'InstanceAdded', data: { name: `inst-${i}.example.com`, node: 'node-1', memory: 1024, vcpus: 1, disks: [{ size: 10240 }] }, metadata: { actor: 'root', job: i } }));
const t = performance.now();
for (let i = 0; i < N; i++) {
  const s = `s-${i % 100}`;
  const r = await store.append(s, [evs[i]], revs.get(s) ?? 'no_stream');
  revs.set(s, r.nextRevision);
}
console.log(which, (N / ((performance.now() - t) / 1000)).toFixed(0));
rmSync(dir, { recursive: true });
