// For the scripts that kill a database connection (connectionDeath.ts, typeFetchDeath.ts): after
// the death, the pool may pass the dead connection's error on once more; then it must answer
// again, and answer each query with its own result. Prints each try.
import type { Sql } from 'postgres';

export async function untilPoolAnswers(sql: Sql, timeoutSeconds: number): Promise<void> {
  for (let attempt = 1; attempt <= 3; attempt++) {
    const answer = await Promise.race([
      sql`select ${attempt}::int as attempt`.then(
        ([row]) => `answered ${row!.attempt}`,
        (err: { code?: string }) => `failed ${err.code}`,
      ),
      new Promise<string>((resolve) => {
        // unref: an answered query does not keep the process waiting for it
        setTimeout(
          () => resolve(`no answer in ${timeoutSeconds} s`),
          timeoutSeconds * 1000,
        ).unref();
      }),
    ]);
    console.log(`query ${attempt}: ${answer}`);
    if (!answer.startsWith('failed')) return;
  }
}
