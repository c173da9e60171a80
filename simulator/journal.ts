// The simulator's memory across restarts: tables of records kept in memory and written to an
// append-only journal file, one JSON line per change (or per group of changes made together),
// fsync'd before the call that made the change returns, so before any answer that depends on it
// leaves. Replayed at start, a torn last line (the process killed mid-write) dropped; rewritten as
// a snapshot when it has grown; guarded by a lock file so that one process at a time uses it.
import {
  closeSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';

/** A record set (three elements) or deleted (two): [table, key, value?]. */
type Change = [table: string, key: string, value?: unknown];

export interface JournalOptions {
  /** The journal is rewritten as a snapshot once it is this large and twice its last snapshot. */
  compactAtBytes?: number;
  /** Hears a failed compaction (the journal stays whole and is compacted later). */
  onCompactionError?: (err: Error) => void;
}

/** What opening found in the file. */
export interface Recovery {
  /** Lines replayed. */
  lines: number;
  /** Bytes of a torn last line, dropped (its change was never answered). */
  tornBytes: number;
}

export class JournalError extends Error {}

const defaultCompactAtBytes = 8 * 1024 * 1024;
/** Files open in this process, so that a second open here is refused like one from elsewhere. */
const openHere = new Set<string>();

export class Journal {
  private readonly tables = new Map<string, Map<string, unknown>>();
  /** Changes of the atomically() block in progress, written as one line when it ends. */
  private group: Change[] | undefined;
  private fd: number | undefined;
  private bytes = 0;
  private compactAt: number;
  /** Once a write has failed, the disk and memory may differ: nothing more is accepted. */
  private failure: Error | undefined;
  /** What opening found in the file. */
  recovery: Recovery = { lines: 0, tornBytes: 0 };

  private constructor(
    private readonly file: string | undefined,
    private readonly options: JournalOptions,
    private unlock: () => void = () => {},
  ) {
    this.compactAt = this.threshold;
  }

  private get threshold(): number {
    return this.options.compactAtBytes ?? defaultCompactAtBytes;
  }

  /** Tables that live as long as the process (unit tests, the faces' defaults). */
  static inMemory(): Journal {
    return new Journal(undefined, {});
  }

  /**
   * Opens (or creates) the journal file, taking its lock, and replays it. Refuses a file another
   * live process holds.
   */
  static open(file: string, options: JournalOptions = {}): Journal {
    const resolved = path.resolve(file);
    mkdirSync(path.dirname(resolved), { recursive: true });
    const journal = new Journal(resolved, options, lock(resolved));
    try {
      journal.recovery = journal.replay();
    } catch (err) {
      journal.close();
      throw err;
    }
    return journal;
  }

  get location(): string {
    return this.file ?? 'memory';
  }

  table<T>(name: string): JournalTable<T> {
    return new JournalTable<T>(this, name, this.rowsOf(name) as Map<string, T>);
  }

  /**
   * Runs `change` so that every record it sets or deletes reaches the disk in one line: after a
   * crash, all of them or none. The line is written when `change` ends, also when it throws, so
   * memory and disk agree.
   */
  atomically<T>(change: () => T): T {
    if (this.group) return change();
    this.group = [];
    try {
      return change();
    } finally {
      const group = this.group;
      this.group = undefined;
      if (group.length > 0) this.write(group);
    }
  }

  /** Called by a table for each of its changes. */
  record(change: Change) {
    if (this.failure) throw new JournalError(`journal unwritable: ${this.failure.message}`);
    if (this.group) this.group.push(change);
    else this.write([change]);
  }

  close() {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    this.unlock();
    this.unlock = () => {}; // once: the lock may be another process's by a second call
  }

  private rowsOf(table: string): Map<string, unknown> {
    let rows = this.tables.get(table);
    if (!rows) {
      rows = new Map();
      this.tables.set(table, rows);
    }
    return rows;
  }

  private write(changes: Change[]) {
    if (this.fd === undefined) {
      if (this.file) throw new JournalError(`journal ${this.file} is closed`);
      return;
    }
    const line = Buffer.from(`${JSON.stringify(changes)}\n`);
    try {
      writeFully(this.fd, line);
      fsyncSync(this.fd);
    } catch (err) {
      this.failure = err as Error;
      throw err;
    }
    this.bytes += line.length;
    if (this.bytes < this.compactAt) return;
    try {
      this.compact();
    } catch (err) {
      this.compactAt = 2 * this.bytes;
      this.options.onCompactionError?.(err as Error);
    }
  }

  private replay(): Recovery {
    const file = this.file!;
    let content: Buffer;
    try {
      content = readFileSync(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      content = Buffer.alloc(0);
    }
    // A change counts once its whole line, newline included, is on disk.
    const complete = content.lastIndexOf(0x0a) + 1;
    const lines = content.subarray(0, complete).toString('utf8').split('\n').slice(0, -1);
    lines.forEach((line, index) => {
      const changes = parseLine(line);
      if (!changes) throw new JournalError(`${file}:${index + 1}: not a journal line`);
      for (const change of changes) this.apply(change);
    });
    this.fd = openSync(file, 'a');
    if (complete < content.length) {
      ftruncateSync(this.fd, complete);
      fsyncSync(this.fd);
    }
    fsyncDirectory(path.dirname(file));
    this.bytes = complete;
    if (complete >= this.compactAt) this.compact();
    return { lines: lines.length, tornBytes: content.length - complete };
  }

  private apply([table, key, ...value]: Change) {
    const rows = this.rowsOf(table);
    if (value.length === 0) rows.delete(key);
    else rows.set(key, value[0]);
  }

  /**
   * Writes what the tables hold now to a new file, one record a line, and puts it in the
   * journal's place; a crash meanwhile leaves the old journal whole.
   */
  private compact() {
    const file = this.file!;
    const next = `${file}.compacting`;
    const fd = openSync(next, 'w');
    let size = 0;
    try {
      let chunk: string[] = [];
      const flush = () => {
        const bytes = Buffer.from(chunk.join(''));
        writeFully(fd, bytes);
        size += bytes.length;
        chunk = [];
      };
      for (const [table, rows] of this.tables) {
        for (const [key, value] of rows) {
          chunk.push(`${JSON.stringify([[table, key, value]])}\n`);
          if (chunk.length >= 1000) flush();
        }
      }
      flush();
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(next, file);
    try {
      const fd = openSync(file, 'a');
      closeSync(this.fd!);
      this.fd = fd;
    } catch (err) {
      // Appends would go to the replaced file.
      this.failure = err as Error;
      throw err;
    }
    fsyncDirectory(path.dirname(file));
    this.bytes = size;
    this.compactAt = Math.max(this.threshold, 2 * size);
  }
}

/** A table's records by key, as a Map reads them; each set or delete is journaled first. */
export class JournalTable<T> {
  constructor(
    private readonly journal: Journal,
    private readonly name: string,
    private readonly rows: Map<string, T>,
  ) {}

  get(key: string): T | undefined {
    return this.rows.get(key);
  }

  has(key: string): boolean {
    return this.rows.has(key);
  }

  get size(): number {
    return this.rows.size;
  }

  values(): IterableIterator<T> {
    return this.rows.values();
  }

  entries(): IterableIterator<[string, T]> {
    return this.rows.entries();
  }

  /** Records `value` (as it is now: mutate, then set again to record a change). */
  set(key: string, value: T) {
    this.journal.record([this.name, key, value]);
    this.rows.set(key, value);
  }

  delete(key: string) {
    if (!this.rows.has(key)) return;
    this.journal.record([this.name, key]);
    this.rows.delete(key);
  }
}

function parseLine(line: string): Change[] | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return undefined;
  }
  const valid =
    Array.isArray(parsed) &&
    parsed.every(
      (change) =>
        Array.isArray(change) &&
        (change.length === 2 || change.length === 3) &&
        typeof change[0] === 'string' &&
        typeof change[1] === 'string',
    );
  return valid ? (parsed as Change[]) : undefined;
}

function writeFully(fd: number, bytes: Buffer) {
  for (let offset = 0; offset < bytes.length;) {
    offset += writeSync(fd, bytes, offset, bytes.length - offset);
  }
}

/** Makes a file's creation or renaming in `dir` durable. */
function fsyncDirectory(dir: string) {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Takes `<file>.lock`, holding this process's id; a lock whose process is gone (killed) is taken
 * over. Answers the function that releases it.
 */
function lock(file: string): () => void {
  const lockFile = `${file}.lock`;
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(lockFile, String(process.pid), { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number(readFileSync(lockFile, 'utf8').trim());
      if (attempt > 0 || isHeld(file, owner)) {
        throw new JournalError(
          `${file} is in use by process ${owner} (lock ${lockFile}): one simulator per file`,
        );
      }
      unlinkSync(lockFile); // its owner died without releasing it
    }
  }
  openHere.add(file);
  return () => {
    openHere.delete(file);
    try {
      unlinkSync(lockFile);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  };
}

function isHeld(file: string, owner: number): boolean {
  if (!Number.isInteger(owner) || owner <= 0) return false; // killed before writing its id
  if (owner === process.pid) return openHere.has(file);
  try {
    process.kill(owner, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
