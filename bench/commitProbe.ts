// PostgreSQL's own answer time while a load runs: a one-row INSERT, committed, every `everyMs`, one
// at a time, on the database paycenter uses. The inbox stores a notification with such a
// statement before the webhook answers, so on a machine that PostgreSQL shares with the worker and
// Temporal this is the floor under the ack, whatever the API does.
import { sql } from 'drizzle-orm';
import type { Db } from '../src/db/client';
import { latency, sleep, type Latency } from './stats';

export async function withCommitProbe<T>(
  db: Db,
  everyMs: number,
  during: () => Promise<T>,
): Promise<[T, Latency]> {
  await db.execute(sql`create table if not exists bench_commit_probe
    (n bigserial primary key, at timestamptz not null default now())`);
  const samples: number[] = [];
  let running = true;
  let failure: Error | undefined;
  const probing = (async () => {
    while (running) {
      const started = performance.now();
      await db.execute(sql`insert into bench_commit_probe default values`);
      const took = performance.now() - started;
      samples.push(took);
      await sleep(Math.max(0, everyMs - took));
    }
  })().catch((err: unknown) => {
    failure = err instanceof Error ? err : new Error(`commit probe: ${JSON.stringify(err)}`);
  });
  try {
    const result = await during();
    running = false;
    await probing;
    if (failure) throw failure;
    return [result, latency(samples)];
  } finally {
    running = false;
    await probing;
  }
}
