import pg from 'pg';
import { Subject } from 'rxjs';
import {
  StoreOpenError,
  checkExpectedRevision,
  revisionAfter,
  type AppendResult,
  type EventStore,
  type RecordedEvent,
} from '../../domain/ports/event-store.js';
import { GENESIS_HASH, chainRows } from '../../domain/log-chain.js';
import { SCHEMA, ensurePostgresFormat, postgresAuditLog, upgradePostgresLog } from './postgres-schema.js';
import { replayedAppendResult } from './idempotency.js';
import { LEASE_EPOCH, checkPostgresFence, createPostgresLeases } from './postgres-leases.js';
import { pollingSubscription, readAllPaged, readPages, type ReadPage } from './paging.js';

/*
 * Gap-free global order with concurrent writers: every append takes one
 * transaction-scoped advisory lock before it reads the head position, so appends
 * commit one after another and positions become visible in order. A reader polling
 * `position > last` can therefore never pass a position that commits later. We chose
 * this over xid8 snapshot filtering because it also keeps positions contiguous (no
 * sequence gaps from rolled-back appends) and the control plane's write rate is modest.
 */
const APPEND_LOCK = 0x6f706c; // "opl"
const NOTIFY_CHANNEL = 'opl_events_appended';
/** No append leaves its transaction idle for more than a few milliseconds unless its process is frozen. */
const IDLE_IN_TRANSACTION_MS = 5000;

interface EventRow {
  position: string;
  id: string;
  stream: string;
  revision: string;
  type: string;
  data: unknown;
  metadata: RecordedEvent['metadata'];
}
const toRecorded = (r: EventRow): RecordedEvent => ({
  position: BigInt(r.position),
  id: r.id,
  stream: r.stream,
  revision: BigInt(r.revision),
  type: r.type,
  data: r.data,
  metadata: r.metadata,
});

/** `postgres://…[?schema=NAME]`: the optional schema keeps test runs and sites apart. */
const splitSchema = (url: string): { connectionString: string; schema: string } => {
  const parsed = new URL(url);
  const schema = parsed.searchParams.get('schema') ?? 'public';
  if (!/^[a-z_][a-z0-9_]*$/.test(schema)) {
    throw new StoreOpenError(`store URL: schema '${schema}' must be lower-case letters, digits and _`);
  }
  parsed.searchParams.delete('schema');
  return { connectionString: parsed.toString(), schema };
};

export const createPostgresEventStore = async (
  url: string,
  options: { pollMs?: number; poolSize?: number } = {},
): Promise<EventStore> => {
  const { connectionString, schema } = splitSchema(url);
  // The schema is set per connection at start-up, so no query ever runs outside it. A
  // process frozen inside an append (SIGSTOP, a paused VM) would hold the append lock
  // and its lease row for as long as it stays frozen: the server ends such a
  // transaction, so the others can take the lease over and go on.
  const pool = new pg.Pool({
    connectionString,
    max: options.poolSize ?? 4,
    options: `-c search_path=${schema} -c idle_in_transaction_session_timeout=${IDLE_IN_TRANSACTION_MS}`,
  });
  pool.on('error', () => undefined);
  // A connection the server ends while it is checked out (a frozen writer's transaction,
  // a restart) reports it as an 'error' event, which unheard would kill the process; the
  // query that follows fails with it all the same, and that failure is what we act on.
  pool.on('connect', (client) => client.on('error', () => undefined));
  try {
    const client = await pool.connect();
    try {
      await client.query('SELECT pg_advisory_lock($1)', [APPEND_LOCK]);
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
      await client.query(`SET search_path TO ${schema}`);
      await client.query(SCHEMA);
      await client.query(LEASE_EPOCH);
      await client.query('SELECT pg_advisory_unlock($1)', [APPEND_LOCK]);
      await ensurePostgresFormat(client, schema);
    } finally {
      client.release();
    }
  } catch (error) {
    await pool.end().catch(() => undefined);
    if (error instanceof StoreOpenError) throw error;
    throw new StoreOpenError(`cannot open PostgreSQL store: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }

  const appended = new Subject<void>();
  const listener = new pg.Client({ connectionString });
  const listening = listener
    .connect()
    .then(() => listener.query(`LISTEN ${NOTIFY_CHANNEL}`))
    // One channel serves every schema of the database: each store wakes only for its own.
    .then(() => listener.on('notification', (note) => note.payload === schema && appended.next()))
    .catch(() => undefined); // polling still delivers everything, only later
  listener.on('error', () => undefined);

  const readPage: ReadPage = async (from, limit, filter) => {
    const where = ['position >= $1'];
    const args: unknown[] = [from.toString()];
    if (filter?.streamPrefix) {
      args.push(`${filter.streamPrefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
      where.push(`stream LIKE $${args.length}`);
    }
    if (filter?.types?.length) {
      args.push(filter.types);
      where.push(`type = ANY($${args.length})`);
    }
    args.push(limit);
    const result = await pool.query<EventRow>(
      `SELECT position, id, stream, revision, type, data, metadata FROM opl_events WHERE ${where.join(' AND ')} ORDER BY position LIMIT $${args.length}`,
      args,
    );
    return result.rows.map(toRecorded);
  };

  const append = async (
    stream: string,
    events: Parameters<EventStore['append']>[1],
    expected: Parameters<EventStore['append']>[2],
    appendOptions?: Parameters<EventStore['append']>[3],
  ): Promise<AppendResult> => {
    if (events.length === 0) throw new Error('append: no events given');
    const client = await pool.connect();
    try {
      // Five round trips: begin, lock, one read of all the append needs, one write of
      // events, stream head and notification, commit.
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1)', [APPEND_LOCK]);
      if (appendOptions?.fence) await checkPostgresFence(client, appendOptions.fence, events);
      const ids = events.map((e) => e.id);
      const texts = events.flatMap((e) => [JSON.stringify(e.data), JSON.stringify(e.metadata)]);
      // The chain hashes JSONB's own text form, so the same read also asks how
      // PostgreSQL will write this batch's data and metadata, and for the head's hash.
      const seen = await client.query<{ known: { id: string; stream: string; revision: string; position: string }[] | null; revision: string | null; head: string; head_hash: string | null; stored: string[] }>(
        `SELECT
           (SELECT json_agg(json_build_object('id', id, 'stream', stream, 'revision', revision::text, 'position', position::text))
              FROM opl_events WHERE id = ANY($1)) AS known,
           (SELECT revision::text FROM opl_streams WHERE stream = $2) AS revision,
           (SELECT COALESCE(MAX(position), 0)::text FROM opl_events) AS head,
           (SELECT hash FROM opl_events ORDER BY position DESC LIMIT 1) AS head_hash,
           (SELECT array_agg(t::jsonb::text ORDER BY n) FROM unnest($3::text[]) WITH ORDINALITY AS u(t, n)) AS stored`,
        [ids, stream, texts],
      );
      const row = seen.rows[0]!;
      const byId = new Map(
        (row.known ?? []).map((r) => [r.id, { ...r, revision: BigInt(r.revision), position: BigInt(r.position) }]),
      );
      const replayed = replayedAppendResult(stream, events, ids.map((id) => byId.get(id)));
      if (replayed) {
        await client.query('ROLLBACK');
        return replayed;
      }
      const actual = row.revision !== null ? BigInt(row.revision) : 'no_stream';
      checkExpectedRevision(stream, expected, actual);
      const firstPosition = BigInt(row.head) + 1n;
      const firstRevision = revisionAfter(actual);
      const lastRevision = firstRevision + BigInt(events.length - 1);
      const chained = chainRows(
        events.map((e, i) => ({
          position: Number(firstPosition) + i,
          stream,
          revision: Number(firstRevision) + i,
          id: e.id,
          type: e.type,
          data: row.stored[2 * i]!,
          metadata: row.stored[2 * i + 1]!,
        })),
        row.head_hash ?? GENESIS_HASH,
      );
      const values: unknown[] = [stream, lastRevision.toString()];
      const tuples = chained.map((r, i) => {
        values.push(r.position.toString(), r.id, r.revision.toString(), r.type, r.data, r.metadata, r.prevHash, r.hash);
        const b = 2 + i * 8;
        return `($${b + 1}::bigint, $${b + 2}, $1, $${b + 3}::bigint, $${b + 4}, $${b + 5}::jsonb, $${b + 6}::jsonb, $${b + 7}, $${b + 8})`;
      });
      await client.query(
        `WITH inserted AS (
           INSERT INTO opl_events (position, id, stream, revision, type, data, metadata, prev_hash, hash) VALUES ${tuples.join(', ')} RETURNING 1
         ), head AS (
           INSERT INTO opl_streams (stream, revision) VALUES ($1, $2::bigint)
           ON CONFLICT (stream) DO UPDATE SET revision = excluded.revision RETURNING 1
         )
         SELECT pg_notify('${NOTIFY_CHANNEL}', '${schema}'), (SELECT count(*) FROM inserted), (SELECT count(*) FROM head)`,
        values,
      );
      await client.query('COMMIT');
      appended.next();
      return { nextRevision: lastRevision, position: firstPosition + BigInt(events.length - 1) };
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  };

  const leases = createPostgresLeases(pool);

  return {
    append,
    readStream: async function* (stream, fromRevision = 0n) {
      let next = fromRevision;
      for (;;) {
        const result = await pool.query<EventRow>(
          'SELECT position, id, stream, revision, type, data, metadata FROM opl_events WHERE stream = $1 AND revision >= $2 ORDER BY revision LIMIT 2000',
          [stream, next.toString()],
        );
        for (const row of result.rows) yield toRecorded(row);
        if (result.rows.length < 2000) return;
        next = BigInt(result.rows[result.rows.length - 1]!.revision) + 1n;
      }
    },
    readAll: (fromPosition = 1n, opts) => readAllPaged(readPage, fromPosition, opts),
    readAllPages: (fromPosition = 1n, opts) => readPages(readPage, fromPosition, opts),
    subscribeAll: (fromPosition = 1n) => pollingSubscription(readPage, fromPosition, appended, options.pollMs ?? 100),
    leases,
    audit: postgresAuditLog(pool),
    close: async () => {
      appended.complete();
      await listening;
      await listener.end().catch(() => undefined);
      await pool.end();
    },
  };
};

/** `opl audit upgrade` on PostgreSQL: the schema's format-1 log gets its chain, once. */
export const upgradePostgresStore = async (url: string): Promise<{ events: number; from: string; to: string }> => {
  const { connectionString, schema } = splitSchema(url);
  const client = new pg.Client({ connectionString, options: `-c search_path=${schema}` });
  try {
    await client.connect();
  } catch (error) {
    throw new StoreOpenError(`cannot open PostgreSQL store: ${error instanceof Error ? error.message : String(error)}`);
  }
  try {
    return await upgradePostgresLog(client, schema, APPEND_LOCK);
  } finally {
    await client.end().catch(() => undefined);
  }
};
