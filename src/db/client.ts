// Opens the database: a PostgreSQL server by URL, or an embedded PGlite for the single-process demo.
import path from 'node:path';
import net from 'node:net';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { PGlite } from '@electric-sql/pglite';
import postgres from 'postgres';
import type { Config } from '../config';
import { preparingStatements } from './preparedStatements';
import * as schema from './schema';

export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;

export interface Database {
  db: Db;
  kind: 'postgres' | 'pglite';
  /** Where it lives, without credentials, for logs. */
  location: string;
  /**
   * Applies this tree's migrations, or those in `folder`: another checkout's, when the bench
   * measures an older commit on a database of its own (bench/baseline.ts).
   */
  migrate(folder?: string): Promise<void>;
  close(): Promise<void>;
}

const migrationsFolder = path.resolve(__dirname, '../../drizzle');

/**
 * `preparedStatements`: statements with parameters prepared once per connection
 * (src/db/preparedStatements.ts); off behind a pooler that cannot carry them (DATABASE_PREPARED_STATEMENTS).
 */
export async function openPostgres(
  url: string,
  poolSize = 10,
  { preparedStatements = true }: { preparedStatements?: boolean } = {},
): Promise<Database> {
  const sql = postgres(url, { max: poolSize, onnotice: () => {} });
  const db = drizzlePostgres(preparedStatements ? preparingStatements(sql) : sql, { schema });
  const u = new URL(url);
  return {
    db,
    kind: 'postgres',
    location: `postgres://${u.host}${u.pathname}`,
    migrate: (folder = migrationsFolder) => migratePostgres(db, { migrationsFolder: folder }),
    close: () => sql.end({ timeout: 5 }),
  };
}

/** The PostgreSQL server at `url`, with the configured pool size and prepared statements. */
export function openConfiguredPostgres(
  config: Pick<Config, 'DATABASE_POOL_SIZE' | 'DATABASE_PREPARED_STATEMENTS'>,
  url: string,
): Promise<Database> {
  return openPostgres(url, config.DATABASE_POOL_SIZE, {
    preparedStatements: config.DATABASE_PREPARED_STATEMENTS,
  });
}

/** PGlite keeps its files under `dataDir`; omit it for an in-memory database. */
export async function openPglite(dataDir?: string): Promise<Database> {
  const client = new PGlite(dataDir);
  const db = drizzlePglite(client, { schema });
  return {
    db,
    kind: 'pglite',
    location: dataDir ? `pglite:${dataDir}` : 'pglite:memory',
    migrate: (folder = migrationsFolder) => migratePglite(db, { migrationsFolder: folder }),
    close: () => client.close(),
  };
}

/** The size on disk of these databases of the PostgreSQL server at `serverUrl`, together (bytes). */
export async function databasesSize(serverUrl: string, names: string[]): Promise<number> {
  const sql = postgres(serverUrl, { max: 1, onnotice: () => {} });
  try {
    const [row] = await sql`
      select coalesce(sum(pg_database_size(datname)), 0)::bigint as size
      from pg_database where datname in ${sql(names)}`;
    return Number(row!.size);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** Creates the database named in `url` if the server lacks it (the server must already run). */
export async function ensureDatabaseExists(url: string): Promise<void> {
  // Most often it exists: ask it first, so a user without rights on `postgres` is fine too.
  const probe = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await probe`select 1`;
    return;
  } catch (err) {
    if ((err as { code?: string }).code !== '3D000') throw err; // 3D000: no such database
  } finally {
    await probe.end({ timeout: 5 });
  }
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const sql = postgres(admin.toString(), { max: 1, onnotice: () => {} });
  try {
    await sql.unsafe(`create database "${name.replace(/"/g, '""')}"`);
  } catch (err) {
    // Another process may have created it between our check and our create.
    if ((err as { code?: string }).code !== '42P04') throw err;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

export function isPortOpen(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
