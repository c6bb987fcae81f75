import { randomBytes } from 'node:crypto';

/** Required, not optional: CI starts PostgreSQL; a missing server fails these tests. */
export const PG_URL = process.env.OPL_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A URL naming a fresh schema, so every test starts from an empty store. */
export const freshSchemaUrl = (): string => {
  const url = new URL(PG_URL);
  url.searchParams.set('schema', `opl_t_${randomBytes(6).toString('hex')}`);
  return url.toString();
};
