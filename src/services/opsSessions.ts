// The ops console's sessions: an operator signs in with an ops key and gets a session whose token
// only the browser's cookie holds (the books keep its hash). A session ends at sign-out, when it
// has been idle too long, when its lifetime is over, or when the key it signed in with is revoked
// (or, for the built-in operator, no longer the configured key).
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { and, eq, gt, isNull, lt, or, sql } from 'drizzle-orm';
import type { Db } from '../db/client';
import { operatorKeys, opsConsoleSessions } from '../db/schema';
import { recordAudit } from './audit';
import { hashApiKey } from './merchants';

export interface OpsSessionSettings {
  /** How long a session lasts at most, however busy. */
  lifetimeSeconds: number;
  /** How long a session lasts without a request. */
  idleSeconds: number;
}

/** The session a request's cookie names, with the means to check its forms' token. */
export interface OpenSession {
  operator: string;
  /** What every form of the session must send back (CSRF). */
  csrfToken: string;
  /** Whether `token` is this session's CSRF token (compared in constant time). */
  sentOwnToken(token: string | undefined): boolean;
}

/** Seen again within this many seconds: the session's last_seen_at is not written once more. */
const touchEverySeconds = 60;

function newToken(): string {
  return randomBytes(32).toString('base64url');
}

export function createOpsSessions(deps: {
  db: Db;
  /** The configured built-in operator's key, when there is one. */
  opsKey?: string | undefined;
  settings: OpsSessionSettings;
}) {
  const { db, settings } = deps;
  const builtInKeyHash = deps.opsKey ? hashApiKey(deps.opsKey) : undefined;

  return {
    /**
     * Opens a session for an operator who has just shown `key` (the caller checked it); answers
     * the token for the cookie. Recorded in the audit log.
     */
    async signIn(operator: string, key: string): Promise<string> {
      const token = newToken();
      const csrfToken = newToken();
      await db.transaction(async (tx) => {
        // Sessions over for a day are of no more use (the audit log keeps the sign-ins).
        const dayAgo = sql`now() - interval '1 day'`;
        await tx
          .delete(opsConsoleSessions)
          .where(
            or(lt(opsConsoleSessions.expiresAt, dayAgo), lt(opsConsoleSessions.endedAt, dayAgo)),
          );
        await tx.insert(opsConsoleSessions).values({
          tokenHash: hashApiKey(token),
          operator,
          keyHash: hashApiKey(key),
          csrfToken,
          expiresAt: sql`now() + make_interval(secs => ${settings.lifetimeSeconds})`,
        });
        await recordAudit(tx, {
          operator,
          action: 'operator.sign_in',
          subject: { type: 'operator', id: operator },
          after: { via: 'ops_console' },
        });
      });
      return token;
    },

    /** The live session the token names, or undefined: unknown, ended, expired, idle, revoked. */
    async find(token: string): Promise<OpenSession | undefined> {
      const keyStillValid = or(
        builtInKeyHash ? eq(opsConsoleSessions.keyHash, builtInKeyHash) : undefined,
        sql`exists (select 1 from ${operatorKeys}
          where ${operatorKeys.keyHash} = ${opsConsoleSessions.keyHash}
            and ${operatorKeys.revokedAt} is null)`,
      );
      const tokenHash = hashApiKey(token);
      const [row] = await db
        .select({
          operator: opsConsoleSessions.operator,
          csrfToken: opsConsoleSessions.csrfToken,
          idleSeconds: sql<number>`extract(epoch from now() - ${opsConsoleSessions.lastSeenAt})::float8`,
        })
        .from(opsConsoleSessions)
        .where(
          and(
            eq(opsConsoleSessions.tokenHash, tokenHash),
            isNull(opsConsoleSessions.endedAt),
            gt(opsConsoleSessions.expiresAt, sql`now()`),
            gt(
              opsConsoleSessions.lastSeenAt,
              sql`now() - make_interval(secs => ${settings.idleSeconds})`,
            ),
            keyStillValid,
          ),
        );
      if (!row) return undefined;
      if (Number(row.idleSeconds) >= touchEverySeconds) {
        await db
          .update(opsConsoleSessions)
          .set({ lastSeenAt: sql`now()` })
          .where(eq(opsConsoleSessions.tokenHash, tokenHash));
      }
      const expected = Buffer.from(row.csrfToken);
      return {
        operator: row.operator,
        csrfToken: row.csrfToken,
        sentOwnToken(sent) {
          const given = Buffer.from(sent ?? '');
          return given.length === expected.length && timingSafeEqual(given, expected);
        },
      };
    },

    /** Ends the session (again: no change); recorded in the audit log when it was open. */
    async signOut(token: string): Promise<void> {
      await db.transaction(async (tx) => {
        const ended = await tx
          .update(opsConsoleSessions)
          .set({ endedAt: sql`now()` })
          .where(
            and(
              eq(opsConsoleSessions.tokenHash, hashApiKey(token)),
              isNull(opsConsoleSessions.endedAt),
            ),
          )
          .returning({ operator: opsConsoleSessions.operator });
        const [session] = ended;
        if (!session) return;
        await recordAudit(tx, {
          operator: session.operator,
          action: 'operator.sign_out',
          subject: { type: 'operator', id: session.operator },
        });
      });
    },
  };
}
