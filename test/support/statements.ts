// A channel's statement of a day read whole, for tests of small statements: its file and lines.
import type { ChannelAdapter, StatementLine } from '../../src/channels/types';

export async function readStatement(
  adapter: Pick<ChannelAdapter, 'fetchStatement'>,
  day: string,
): Promise<{ raw: Buffer; lines: StatementLine[] }> {
  const raw: Buffer[] = [];
  const lines: StatementLine[] = [];
  const batches = adapter.fetchStatement(day, async (bytes) => {
    raw.push(bytes);
  });
  for await (const batch of batches) lines.push(...batch);
  return { raw: Buffer.concat(raw), lines };
}
