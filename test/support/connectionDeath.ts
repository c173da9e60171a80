// Run as a child process by test/e2e/databaseOutage.test.ts, because what it checks is that the
// process survives: a transaction's connection dies mid-query (its backend is terminated), the
// transaction fails, and the same pool answers queries again. Prints what happened.
import postgres from 'postgres';
import { untilPoolAnswers } from './poolAnswers';

async function main(url: string) {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  const killer = postgres(url, { max: 1, onnotice: () => {} });
  let pid: number | undefined;
  const transaction = sql.begin(async (tx) => {
    const [row] = await tx<{ pid: number }[]>`select pg_backend_pid() as pid`;
    pid = row!.pid;
    await tx`select pg_sleep(5)`;
  });
  while (pid === undefined) await new Promise((resolve) => setTimeout(resolve, 20));
  await killer`select pg_terminate_backend(${pid})`;
  const failure = await transaction.then(
    () => 'committed',
    (err: Error & { code?: string }) => err.code ?? String(err),
  );
  console.log(`transaction: ${failure}`);
  await untilPoolAnswers(sql, 5);
  await Promise.all([sql.end({ timeout: 1 }), killer.end({ timeout: 1 })]);
}

main(process.argv[2]!).catch((err) => {
  console.log(`failed: ${err?.code ?? err}`);
  process.exit(1);
});
