// drizzle sends unprepared every statement it was not asked to name, and for one with parameters
// postgres.js then asks the server for their types before it binds them: two round trips a
// statement, and the server parses the text each time. Prepared, a statement takes one round trip
// from its second use on a connection (postgres.js keeps what a connection prepared until it
// closes, and prepares again after a reconnect or a "no such statement"). Texts differ with the
// length of IN lists, so only the first `maxTexts` different texts a process sends are prepared and
// later ones go unprepared, as before: that bounds what each server connection keeps.
import type { Sql } from 'postgres';

/** Different statement texts a process prepares at most. */
export const defaultMaxPreparedTexts = 500;

type Client = Sql<Record<string, never>>;

export function preparingStatements<T extends Client>(
  sql: T,
  maxTexts = defaultMaxPreparedTexts,
): T {
  const preparedTexts = new Set<string>();
  const prepares = (text: string, parameters: readonly unknown[] | undefined): boolean => {
    if (!parameters?.length) return false;
    if (preparedTexts.has(text)) return true;
    if (preparedTexts.size >= maxTexts) return false;
    preparedTexts.add(text);
    return true;
  };
  const wrap = <C extends object>(client: C): C =>
    new Proxy(client, {
      get(target, property, receiver) {
        const value: unknown = Reflect.get(target, property, receiver);
        if (typeof value !== 'function') return value;
        const method = value as (...args: unknown[]) => unknown;
        if (property === 'unsafe') {
          return (text: string, parameters?: unknown[], options: object = {}) =>
            method.call(target, text, parameters, {
              ...options,
              prepare: prepares(text, parameters),
            });
        }
        // A transaction's (or savepoint's) own client prepares the same way.
        if (property === 'begin' || property === 'savepoint') {
          return (...args: unknown[]) => {
            const body = args.pop() as (client: object) => unknown;
            return method.call(target, ...args, (inner: object) => body(wrap(inner)));
          };
        }
        return value;
      },
    });
  return wrap(sql);
}
