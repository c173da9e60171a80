// The database's mode: claimed once by the first process that runs on it, then checked by every
// process, so test and live never share books, keys or merchants.
import { eq } from 'drizzle-orm';
import { ConfigError } from '../config';
import type { Db } from '../db/client';
import { deployment } from '../db/schema';
import type { Mode } from '../domain/modes';

/** Claims an unclaimed database for `mode`; refuses one that belongs to the other mode. */
export async function claimDatabaseMode(db: Db, mode: Mode): Promise<void> {
  await db.insert(deployment).values({ id: 1, mode }).onConflictDoNothing();
  const [row] = await db.select().from(deployment).where(eq(deployment.id, 1));
  if (row?.mode !== mode) {
    throw new ConfigError(
      `this database belongs to ${row?.mode} mode (since ${row?.claimedAt.toISOString()}); ` +
        `a ${mode}-mode process needs a database of its own (DATABASE_URL)`,
    );
  }
}
