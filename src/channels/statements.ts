// Statements as they download: a response body's bytes in order, split into text lines, and the
// parsed lines handed on in batches, so that a statement of a million lines is never held whole.
import { Readable } from 'node:stream';
import type { ReadableStream } from 'node:stream/web';
import type { StatementRecorder } from './types';

/** Lines per batch an adapter hands on: enough to store in one statement, little to hold. */
export const statementBatchLines = 5000;

export interface Download {
  response: Response;
  /** The body's bytes, each shown to `record` first; read once. */
  bytes(record: StatementRecorder): AsyncIterable<Buffer>;
}

/**
 * Starts a download whose body may take long: `idleMs` bounds each wait (for the answer, then for
 * every piece of the body), never the whole, which grows with the statement.
 */
export async function startDownload(
  send: (signal: AbortSignal) => Promise<Response>,
  idleMs: number,
): Promise<Download> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(
      () => controller.abort(new Error(`nothing arrived for ${idleMs} ms`)),
      idleMs,
    ).unref();
  };
  arm();
  let response: Response;
  try {
    response = await send(controller.signal);
  } catch (err) {
    clearTimeout(timer);
    throw err;
  }
  arm();
  return {
    response,
    async *bytes(record) {
      try {
        if (!response.body) return;
        for await (const chunk of Readable.fromWeb(response.body as ReadableStream<Uint8Array>)) {
          arm();
          const bytes = Buffer.from(chunk as Uint8Array);
          await record(bytes);
          yield bytes;
        }
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/**
 * The text lines of encoded bytes, without their line ends (LF or CRLF); a character whose bytes
 * arrive in two pieces is decoded whole.
 */
export async function* textLines(
  bytes: AsyncIterable<Uint8Array>,
  encoding = 'utf-8',
): AsyncIterable<string> {
  const decoder = new TextDecoder(encoding);
  const line = (text: string) => (text.endsWith('\r') ? text.slice(0, -1) : text);
  let rest = '';
  for await (const chunk of bytes) {
    rest += decoder.decode(chunk, { stream: true });
    const lines = rest.split('\n');
    rest = lines.pop()!;
    for (const text of lines) yield line(text);
  }
  rest += decoder.decode();
  if (rest !== '') yield line(rest);
}

/** Items in arrays of at most `size`, in order. */
export async function* inBatches<T>(
  items: AsyncIterable<T> | Iterable<T>,
  size = statementBatchLines,
): AsyncIterable<T[]> {
  let batch: T[] = [];
  for await (const item of items) {
    batch.push(item);
    if (batch.length >= size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}
