// The audit log: who did what to which subject, with the state before and after. Rows are only
// ever inserted (the table refuses UPDATE and DELETE); operators read it newest first.
import { and, desc, eq, lt } from 'drizzle-orm';
import type { Db } from '../db/client';
import { auditLog } from '../db/schema';
import type { AuditAction } from '../domain/schemas';

export interface AuditEntry {
  operator: string;
  action: AuditAction;
  subject: { type: string; id: string };
  before?: unknown;
  after?: unknown;
  note?: string;
}

export interface AuditFilter {
  operator?: string | undefined;
  action?: AuditAction | undefined;
  subjectType?: string | undefined;
  subjectId?: string | undefined;
  /** Answers rows older than this one (the previous page's `nextCursor`). */
  cursor?: number | undefined;
  limit?: number | undefined;
}

/** Appends one row; pass the transaction of the change it records so both land or neither. */
export async function recordAudit(db: Pick<Db, 'insert'>, entry: AuditEntry): Promise<void> {
  await db.insert(auditLog).values({
    operator: entry.operator,
    action: entry.action,
    subjectType: entry.subject.type,
    subjectId: entry.subject.id,
    before: entry.before ?? null,
    after: entry.after ?? null,
    note: entry.note ?? null,
  });
}

/** Runs `change` and records it in one transaction; `describe` turns its result into the entry. */
export function audited<T>(
  db: Db,
  change: (tx: Db) => Promise<T>,
  describe: (result: T) => AuditEntry,
): Promise<T> {
  return db.transaction(async (tx) => {
    const result = await change(tx);
    await recordAudit(tx, describe(result));
    return result;
  });
}

/** A page of the log, newest first; `nextCursor` is null on the last page. */
export async function listAudit(db: Db, filter: AuditFilter) {
  const limit = filter.limit ?? 50;
  const rows = await db
    .select()
    .from(auditLog)
    .where(
      and(
        filter.operator ? eq(auditLog.operator, filter.operator) : undefined,
        filter.action ? eq(auditLog.action, filter.action) : undefined,
        filter.subjectType ? eq(auditLog.subjectType, filter.subjectType) : undefined,
        filter.subjectId ? eq(auditLog.subjectId, filter.subjectId) : undefined,
        filter.cursor !== undefined ? lt(auditLog.id, filter.cursor) : undefined,
      ),
    )
    .orderBy(desc(auditLog.id))
    .limit(limit + 1);
  const page = rows.slice(0, limit);
  return {
    items: page.map(auditEntryView),
    nextCursor: rows.length > limit ? page[page.length - 1]!.id : null,
  };
}

/** A row of the log as operators read it. */
export function auditEntryView(r: typeof auditLog.$inferSelect) {
  return {
    id: r.id,
    at: r.at.toISOString(),
    operator: r.operator,
    action: r.action,
    subject: { type: r.subjectType, id: r.subjectId },
    before: r.before,
    after: r.after,
    note: r.note,
  };
}
