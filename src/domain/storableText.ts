// Text that PostgreSQL cannot keep: a UTF-16 surrogate without its pair (no UTF-8 encodes it, and
// its JSON escape is refused) and NUL (refused in text and in JSON). Input holding either is refused
// with the fields named (the API's schemas, channel notifications) rather than failing at the
// database or being stored changed.
import { DomainError, type FieldProblem } from './errors';

/** A UTF-16 surrogate without its pair. */
const loneSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Why `text` cannot be stored, if it cannot. */
function unstorable(text: string): string | undefined {
  if (loneSurrogate.test(text)) return 'not well-formed Unicode (a lone surrogate)';
  if (text.includes('\u0000')) return 'holds a NUL character';
  return undefined;
}

/** Every string in `value` that cannot be stored, named by its dotted path from `at`. */
function unstorableText(value: unknown, at: string): FieldProblem[] {
  if (typeof value === 'string') {
    const message = unstorable(value);
    return message ? [{ field: at, message }] : [];
  }
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, inner]) =>
    unstorableText(inner, at ? `${at}.${key}` : key),
  );
}

/**
 * Refuses `value` with a 400 VALIDATION_FAILED naming each of its strings that cannot be stored;
 * `message` says what was refused.
 */
export function refuseUnstorableText(
  value: unknown,
  at: string,
  message: (fields: FieldProblem[]) => string,
) {
  const fields = unstorableText(value, at);
  if (fields.length > 0) throw new DomainError('VALIDATION_FAILED', message(fields), fields);
}
