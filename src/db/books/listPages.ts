// Keyset pagination of the merchant API's lists, newest first by (created_at, id): a page starts
// strictly after the previous page's last row, so rows created meanwhile (newer than every
// cursor) never shift later pages: no duplicates, no gaps.
import { desc, sql, type AnyColumn, type SQL } from 'drizzle-orm';
import { encodeListCursor, type ListCursor } from '../../domain/schemas';

/** The query's window and page, as the API validated them (src/api/schemas/listing.ts). */
export interface PageQuery {
  createdFrom?: Date | undefined;
  createdTo?: Date | undefined;
  limit: number;
  cursor?: ListCursor | undefined;
}

/** A list's creation time (a column or an expression) and ID, which order it and its cursor. */
export interface ListKeys {
  createdAt: AnyColumn | SQL;
  id: AnyColumn;
}

/** The creation time as a cursor holds it: microseconds, UTC (a JS Date would lose them). */
export function cursorTime(keys: ListKeys) {
  return sql<string>`to_char(${keys.createdAt} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
}

/** The conditions of the window and of the cursor (rows older than it). */
export function pageConditions(keys: ListKeys, query: PageQuery): SQL[] {
  const conditions: SQL[] = [];
  if (query.createdFrom) {
    conditions.push(sql`${keys.createdAt} >= ${query.createdFrom.toISOString()}::timestamptz`);
  }
  if (query.createdTo) {
    conditions.push(sql`${keys.createdAt} < ${query.createdTo.toISOString()}::timestamptz`);
  }
  if (query.cursor) {
    conditions.push(
      sql`(${keys.createdAt}, ${keys.id}) < (${query.cursor.createdAt}::timestamptz, ${query.cursor.id})`,
    );
  }
  return conditions;
}

/** Newest first, one row more than the page so that the last page knows it is the last. */
export function newestFirst(keys: ListKeys) {
  return [desc(keys.createdAt), desc(keys.id)];
}

/** Cuts the `limit + 1` rows read into the page and the cursor of the next one. */
export function pageOf<Row>(
  rows: Row[],
  limit: number,
  cursorOf: (row: Row) => ListCursor,
): { page: Row[]; nextCursor: string | null } {
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    page,
    nextCursor: rows.length > limit && last ? encodeListCursor(cursorOf(last)) : null,
  };
}
