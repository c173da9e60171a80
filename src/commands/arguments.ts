// What the one-off commands (`merchant`, `ops-key`, `reconcile`) share: their arguments, whom the
// audit log records for them, and refusals told as one line rather than a stack trace.
import { userInfo } from 'node:os';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError } from '../config';
import { DomainError } from '../domain/errors';

/** parseArgs, whose own errors (unknown option, missing value) are usage errors of `command`. */
export function parseCommandArgs<T extends ParseArgsConfig>(command: string, options: T) {
  try {
    return parseArgs(options);
  } catch (err) {
    if (err instanceof Error && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS')) {
      throw new ConfigError(`${err.message} (${command})`);
    }
    throw err;
  }
}

/** Whom the audit log records for the command line: the user of this machine. */
export function cliOperator(): string {
  return `cli:${userInfo().username}`;
}

/** A domain refusal (unknown ops key, unknown channel, ...) is printed as its code and message. */
export function asUsageError(err: unknown): unknown {
  return err instanceof DomainError ? new ConfigError(`${err.code}: ${err.message}`) : err;
}
