// Test runner: one in-memory Temporal dev server and one fresh PostgreSQL database for the whole
// run, then node's test runner over every *.test.ts file (or the files given as arguments).
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import postgres from 'postgres';
import { ensureDatabaseExists, openPostgres } from '../src/db/client';
import { startTemporalDevServer } from '../src/dev/temporal';
import { freePort } from './support/ports';

const root = path.resolve(__dirname, '..');

function testFiles(args: string[]): string[] {
  if (args.length > 0) return args;
  return readdirSync(path.join(root, 'test'), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => path.join('test', f))
    .sort();
}

async function main() {
  const serverUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const dbName = `paycenter_test_${process.pid}_${Date.now()}`;
  const dbUrl = new URL(serverUrl);
  dbUrl.pathname = `/${dbName}`;
  await ensureDatabaseExists(dbUrl.toString());
  const database = await openPostgres(dbUrl.toString(), 1);
  await database.migrate();
  await database.close();

  const temporal = await startTemporalDevServer({
    cliPath: process.env.TEMPORAL_CLI || undefined,
    port: await freePort(),
    namespace: 'default',
  });
  console.log(`test run: Temporal ${temporal.address}, database ${dbName}`);

  const files = testFiles(process.argv.slice(2));
  const code = await new Promise<number>((resolve) => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--test',
        '--test-reporter=spec',
        '--test-concurrency=2',
        // A test stuck on a lost answer fails with its name instead of holding the run up.
        '--test-timeout=240000',
        ...files,
      ],
      {
        cwd: root,
        stdio: 'inherit',
        env: {
          ...process.env,
          TEST_TEMPORAL_ADDRESS: temporal.address,
          TEST_DATABASE_URL_FOR_RUN: dbUrl.toString(),
        },
      },
    );
    child.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0)));
  });

  await temporal.stop();
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop database if exists "${dbName}" with (force)`);
  await admin.end();
  process.exit(code);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
