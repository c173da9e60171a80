// Files the demo keeps in DATA_DIR (keys.json, channel-keys.json) are shared by every process
// started on that folder, and any of them may be killed at any moment: each file is written whole
// or not at all, so that a reader never sees half of one.
import { renameSync, writeFileSync } from 'node:fs';

/** Writes a file under a temporary name and renames it into place (atomic on one file system). */
export function writeDataFile(file: string, text: string): void {
  const staging = `${file}.${process.pid}.tmp`;
  writeFileSync(staging, text, { mode: 0o600 });
  renameSync(staging, file);
}
