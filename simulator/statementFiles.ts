// Statement files handed to the simulator whole, as a channel would serve them (the bench's days
// of a million lines, made without a million trades): served for their channel and day instead of
// the statement of the simulator's own trades. Kept on disk, never in memory, until it stops.
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export class StatementFiles {
  private folder: Promise<string> | undefined;
  private readonly files = new Map<string, string>();

  /** Stores the file for the channel's day (replacing one given before); answers its size. */
  async store(channel: string, day: string, body: Readable): Promise<number> {
    this.folder ??= mkdtemp(path.join(os.tmpdir(), 'simulator-statements-'));
    const file = path.join(await this.folder, `${channel}-${day}-${this.files.size}`);
    const out = createWriteStream(file);
    await pipeline(body, out);
    this.files.set(`${channel} ${day}`, file);
    return out.bytesWritten;
  }

  /** The file given for the channel's day, if any. */
  file(channel: string, day: string): string | undefined {
    return this.files.get(`${channel} ${day}`);
  }

  async clear(): Promise<void> {
    const folder = await this.folder;
    this.folder = undefined;
    this.files.clear();
    if (folder) await rm(folder, { recursive: true, force: true });
  }
}
