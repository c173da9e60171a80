// A minimal zip writer and reader (deflate or store, no zip64, no encryption): enough for Alipay's
// bill downloads, a zip of CSV files whose names are GBK-encoded (no UTF-8 flag), as Alipay serves.
// A large bill is read from a file, one entry streamed and inflated as it is read.
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Readable, pipeline } from 'node:stream';
import { createDeflateRaw, createInflateRaw, deflateRawSync, inflateRawSync } from 'node:zlib';
import { decodeGbk, encodeGbk } from './gbk';

export interface ZipEntry {
  name: string;
  data: Buffer;
}

const crcTable = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 of `data`, or of what came before (whose CRC is `previous`) followed by `data`. */
export function crc32(data: Uint8Array, previous = 0): number {
  let crc = (previous ^ 0xffffffff) >>> 0;
  for (let i = 0; i < data.length; i++) crc = crcTable[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** DOS date and time of an instant, in Beijing time (where Alipay's files are made). */
function dosDateTime(date: Date): { time: number; date: number } {
  const d = new Date(date.getTime() + 8 * 3600 * 1000);
  return {
    time: (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | (d.getUTCSeconds() >> 1),
    date: ((d.getUTCFullYear() - 1980) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate(),
  };
}

/** What the headers say of one deflated file. */
interface Deflated {
  name: Buffer;
  crc: number;
  compressedSize: number;
  size: number;
  /** Where its local header starts. */
  offset: number;
}

type Stamp = { time: number; date: number };

/**
 * The fields a file's local header and its central directory entry share, in the same order
 * (version needed to extract through the name's length), written into `header` from `at`.
 */
function writeEntryFields(header: Buffer, at: number, file: Deflated, { time, date }: Stamp) {
  header.writeUInt16LE(20, at); // version needed
  header.writeUInt16LE(0, at + 2); // flags: names are not UTF-8 (GBK, as Alipay's)
  header.writeUInt16LE(8, at + 4); // deflate
  header.writeUInt16LE(time, at + 6);
  header.writeUInt16LE(date, at + 8);
  header.writeUInt32LE(file.crc, at + 10);
  header.writeUInt32LE(file.compressedSize, at + 14);
  header.writeUInt32LE(file.size, at + 18);
  header.writeUInt16LE(file.name.length, at + 22);
}

function localHeader(file: Deflated, stamp: Stamp): Buffer {
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  writeEntryFields(local, 4, file, stamp);
  local.writeUInt16LE(0, 28);
  return Buffer.concat([local, file.name]);
}

/** The central directory of these files, with its end record, to follow them at `offset`. */
function centralDirectory(files: Deflated[], stamp: Stamp, offset: number): Buffer {
  const centrals = files.map((file) => {
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4); // made by
    writeEntryFields(central, 6, file, stamp);
    central.writeUInt32LE(file.offset, 42);
    return Buffer.concat([central, file.name]);
  });
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([directory, end]);
}

export function writeZip(entries: ZipEntry[], at = new Date()): Buffer {
  const stamp = dosDateTime(at);
  const parts: Buffer[] = [];
  const files: Deflated[] = [];
  let offset = 0;
  for (const entry of entries) {
    const compressed = deflateRawSync(entry.data);
    const file = {
      name: encodeGbk(entry.name),
      crc: crc32(entry.data),
      compressedSize: compressed.length,
      size: entry.data.length,
      offset,
    };
    const local = localHeader(file, stamp);
    parts.push(local, compressed);
    files.push(file);
    offset += local.length + compressed.length;
  }
  return Buffer.concat([...parts, centralDirectory(files, stamp, offset)]);
}

/**
 * The same zip written to a file as each entry's data is produced, deflated on the way: for a
 * bill of any size. An entry's data is read only once the entries before it are written.
 */
export async function writeZipFile(
  path: string,
  entries: { name: string; data: () => AsyncIterable<Buffer> | Iterable<Buffer> }[],
  at = new Date(),
): Promise<void> {
  const stamp = dosDateTime(at);
  const out = await open(path, 'w');
  try {
    const files: Deflated[] = [];
    let offset = 0;
    for (const entry of entries) {
      const file = { name: encodeGbk(entry.name), crc: 0, compressedSize: 0, size: 0, offset };
      // The header's sizes and CRC are known at the end: written again once they are.
      offset += (await out.write(localHeader(file, stamp), 0, undefined, offset)).bytesWritten;
      const data = entry.data();
      async function* counted() {
        for await (const chunk of data) {
          file.crc = crc32(chunk, file.crc);
          file.size += chunk.length;
          yield chunk;
        }
      }
      const deflated = pipeline(Readable.from(counted()), createDeflateRaw(), () => {});
      for await (const chunk of deflated) {
        const written = (await out.write(chunk as Buffer, 0, undefined, offset)).bytesWritten;
        offset += written;
        file.compressedSize += written;
      }
      await out.write(localHeader(file, stamp), 0, undefined, file.offset);
      files.push(file);
    }
    await out.write(centralDirectory(files, stamp, offset), 0, undefined, offset);
  } finally {
    await out.close();
  }
}

/** A file of the zip as its central directory describes it. */
interface DirectoryEntry {
  name: string;
  method: number;
  crc: number;
  compressedSize: number;
  localOffset: number;
}

/** Where the zip's central directory is, from the zip's last bytes (`tail`, ending the file). */
function directoryOf(tail: Buffer): { count: number; size: number; offset: number } {
  for (let i = tail.length - 22; i >= Math.max(0, tail.length - 22 - 0xffff); i--) {
    if (tail.readUInt32LE(i) === 0x06054b50) {
      return {
        count: tail.readUInt16LE(i + 10),
        size: tail.readUInt32LE(i + 12),
        offset: tail.readUInt32LE(i + 16),
      };
    }
  }
  throw new Error('not a zip file (no end of central directory)');
}

function directoryEntries(directory: Buffer, count: number): DirectoryEntry[] {
  const entries: DirectoryEntry[] = [];
  let at = 0;
  for (let i = 0; i < count; i++) {
    if (directory.readUInt32LE(at) !== 0x02014b50) throw new Error('corrupt zip central directory');
    const flags = directory.readUInt16LE(at + 8);
    const nameLength = directory.readUInt16LE(at + 28);
    const rawName = directory.subarray(at + 46, at + 46 + nameLength);
    entries.push({
      name: flags & 0x800 ? rawName.toString('utf8') : decodeGbk(rawName),
      method: directory.readUInt16LE(at + 10),
      crc: directory.readUInt32LE(at + 16),
      compressedSize: directory.readUInt32LE(at + 20),
      localOffset: directory.readUInt32LE(at + 42),
    });
    at += 46 + nameLength + directory.readUInt16LE(at + 30) + directory.readUInt16LE(at + 32);
  }
  return entries;
}

/** Where an entry's data starts, from the first 30 bytes of its local header. */
function dataStart(entry: DirectoryEntry, localHeader: Buffer): number {
  if (localHeader.readUInt32LE(0) !== 0x04034b50) throw new Error('corrupt zip local header');
  return entry.localOffset + 30 + localHeader.readUInt16LE(26) + localHeader.readUInt16LE(28);
}

function checkMethod(entry: DirectoryEntry) {
  if (entry.method !== 0 && entry.method !== 8) {
    throw new Error(`zip entry ${entry.name}: unsupported compression method ${entry.method}`);
  }
}

/** Reads every file of a zip; throws on anything it does not understand or a CRC mismatch. */
export function readZip(zip: Buffer): ZipEntry[] {
  const { count, offset } = directoryOf(zip);
  return directoryEntries(zip.subarray(offset), count).map((entry) => {
    checkMethod(entry);
    const start = dataStart(entry, zip.subarray(entry.localOffset, entry.localOffset + 30));
    const stored = zip.subarray(start, start + entry.compressedSize);
    const data = entry.method === 0 ? Buffer.from(stored) : inflateRawSync(stored);
    if (crc32(data) !== entry.crc) throw new Error(`zip entry ${entry.name}: CRC mismatch`);
    return { name: entry.name, data };
  });
}

/**
 * The data of the zip file's first entry that `pick` chooses, inflated as it is read from disk and
 * checked against its CRC at the end; throws when there is none or on anything it cannot read.
 */
export async function* zipEntryData(
  file: string,
  pick: (name: string) => boolean,
): AsyncIterable<Buffer> {
  const handle = await open(file);
  let entry: DirectoryEntry | undefined;
  let start: number;
  try {
    const size = (await handle.stat()).size;
    const read = async (position: number, length: number) => {
      const buffer = Buffer.alloc(Math.max(0, Math.min(length, size - position)));
      await handle.read(buffer, 0, buffer.length, position);
      return buffer;
    };
    const tailLength = Math.min(size, 22 + 0xffff);
    const directory = directoryOf(await read(size - tailLength, tailLength));
    entry = directoryEntries(await read(directory.offset, directory.size), directory.count).find(
      (e) => pick(e.name),
    );
    if (!entry) throw new Error('no such entry in the zip');
    checkMethod(entry);
    start = dataStart(entry, await read(entry.localOffset, 30));
  } finally {
    await handle.close();
  }
  if (entry.compressedSize === 0) {
    if (entry.crc !== 0) throw new Error(`zip entry ${entry.name}: CRC mismatch`);
    return;
  }
  const stored = createReadStream(file, { start, end: start + entry.compressedSize - 1 });
  const data = entry.method === 0 ? stored : stored.pipe(createInflateRaw());
  stored.on('error', (err) => data.destroy(err));
  let crc = 0;
  try {
    for await (const chunk of data) {
      crc = crc32(chunk as Buffer, crc);
      yield chunk as Buffer;
    }
  } finally {
    stored.destroy();
  }
  if (crc !== entry.crc) throw new Error(`zip entry ${entry.name}: CRC mismatch`);
}
