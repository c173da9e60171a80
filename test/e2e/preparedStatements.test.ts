// Statements with parameters are prepared once per connection, inside transactions too, up to a
// number of different texts; with DATABASE_PREPARED_STATEMENTS=false none is.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { openPostgres, type Db } from '../../src/db/client';
import { preparingStatements } from '../../src/db/preparedStatements';
import { runDatabaseUrl } from '../support/system';

/**
 * The test's statements this connection has prepared (the pools here have one connection); the
 * driver prepares some of its own (its read of the array types, a transaction's commit).
 */
async function preparedOnConnection(db: Pick<Db, 'execute'>): Promise<string[]> {
  // PostgreSQL: the driver answers the rows.
  const rows: unknown = await db.execute(
    sql`select statement from pg_prepared_statements
      where statement like '% as n' order by prepare_time`,
  );
  return (rows as { statement: string }[]).map((row) => row.statement);
}

/** The `n` of a statement's first row. */
const nOf = (rows: unknown): number => (rows as { n: number }[])[0]!.n;

describe('prepared statements', () => {
  it('prepares a statement with parameters once, and reuses it; also in a transaction', async () => {
    const database = await openPostgres(runDatabaseUrl(), 1);
    try {
      for (const n of [1, 2, 3]) {
        assert.equal(nOf(await database.db.execute(sql`select ${n}::int + 1 as n`)), n + 1);
      }
      assert.equal((await preparedOnConnection(database.db)).length, 1);
      const inTransaction = await database.db.transaction(async (tx) => {
        return nOf(await tx.execute(sql`select ${40}::int + 2 as n`));
      });
      assert.equal(inTransaction, 42);
      const prepared = await preparedOnConnection(database.db);
      assert.equal(prepared.length, 2, prepared.join('\n'));
      assert.match(prepared[1]!, /\+ 2 as n/);
    } finally {
      await database.close();
    }
  });

  it('prepares nothing when turned off', async () => {
    const database = await openPostgres(runDatabaseUrl(), 1, { preparedStatements: false });
    try {
      for (const n of [1, 2]) await database.db.execute(sql`select ${n}::int + 1 as n`);
      assert.deepEqual(await preparedOnConnection(database.db), []);
    } finally {
      await database.close();
    }
  });

  it('prepares only the first texts up to its limit; the others still answer, unprepared', async () => {
    const client = postgres(runDatabaseUrl(), { max: 1, onnotice: () => {} });
    const db = drizzle(preparingStatements(client, 2));
    try {
      for (const add of [1, 2, 3, 4]) {
        for (const n of [10, 20]) {
          const rows = await db.execute(sql`select ${n}::int + ${sql.raw(String(add))} as n`);
          assert.equal(nOf(rows), n + add);
        }
      }
      const prepared = await preparedOnConnection(db);
      assert.equal(prepared.length, 2, prepared.join('\n'));
    } finally {
      await client.end();
    }
  });
});
