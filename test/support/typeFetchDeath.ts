// Run as a child process by test/e2e/databaseOutage.test.ts, because what it checks is that the
// process survives: every new connection of the driver first reads the database's array types,
// and the first connection dies in the middle of that read (a proxy in front of PostgreSQL drops
// it as soon as the read is sent). The driver must connect again and answer the query that opened
// the connection. Prints what happened.
import net from 'node:net';
import postgres from 'postgres';
import { untilPoolAnswers } from './poolAnswers';

/** Relays to PostgreSQL, and drops the first connection that asks for the type catalogue. */
async function proxyDroppingFirstTypeRead(target: URL) {
  let dropped = false;
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port || 5432), target.hostname);
    for (const socket of [client, upstream]) {
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.on('data', (chunk) => {
      if (!dropped && chunk.includes('pg_catalog.pg_type')) {
        dropped = true;
        console.log('proxy: dropped the connection reading the array types');
        client.resetAndDestroy();
        upstream.destroy();
        return;
      }
      upstream.write(chunk);
    });
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as net.AddressInfo).port, close: () => server.close() };
}

async function main(url: string) {
  const direct = new URL(url);
  const proxy = await proxyDroppingFirstTypeRead(direct);
  const viaProxy = new URL(direct);
  viaProxy.host = `127.0.0.1:${proxy.port}`;
  const sql = postgres(viaProxy.toString(), { max: 1, onnotice: () => {} });
  // The query that opened the dropped connection may fail with it.
  await untilPoolAnswers(sql, 10);
  // Room for a rejection nobody handles to surface (it would end the process with an error).
  await new Promise((resolve) => setTimeout(resolve, 500));
  await sql.end({ timeout: 1 });
  proxy.close();
}

main(process.argv[2]!).catch((err) => {
  console.log(`failed: ${err?.code ?? err}`);
  process.exit(1);
});
