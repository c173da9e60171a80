// Run by `npm install` / `npm ci` (postinstall). postgres.js 3.4.9 mishandles a connection that
// dies under a transaction (porsager/postgres#1154, #1208; found here by the chaos harness on every
// PostgreSQL restart): the transaction's own ROLLBACK is written after the socket is gone, which
// throws from a setImmediate and takes the whole process down; and the closed connection keeps
// its cleared write timer, its last query and that query's error, so once it reconnects it never
// sends a query again, or pairs answers with the wrong query, or fails the next one with the old
// error. And every new connection first reads the array types, by a promise nobody handles: a
// connection that dies during that read (a restart, a reset) rejects it, and Node ends the
// process. Until a release fixes them, this adds four guards to each build of the driver; each is
// applied once, so running it again changes nothing.
const { existsSync, readFileSync, writeFileSync } = require('node:fs');
const path = require('node:path');

const marker = '/* paycenter: closed connection */';
const guards = [
  {
    what: 'a deferred write after the socket closed is dropped',
    from: 'function nextWrite(fn) {\n    const x = socket.write(chunk, fn)',
    to: `function nextWrite(fn) {\n    if (socket === null) ${marker} return (chunk = nextWriteTimer = null, false)\n    const x = socket.write(chunk, fn)`,
  },
  {
    what: 'closing forgets the write timer and the queued bytes',
    from: '    clearImmediate(nextWriteTimer)\n',
    to: `    clearImmediate(nextWriteTimer), (chunk = nextWriteTimer = null) ${marker}\n`,
  },
  {
    what: "closing forgets the query it has just failed, and that query's error",
    from: "    !hadError && (query || sent.length) && error(Errors.connection('CONNECTION_CLOSED', options, socket))\n",
    to: `    !hadError && (query || sent.length) && error(Errors.connection('CONNECTION_CLOSED', options, socket))\n    query = errorResponse = null ${marker}\n`,
  },
  {
    // The connection's own close already fails its queries and connects again.
    what: "the array types' read failing with its connection is not an unhandled rejection",
    from: '        return fetchArrayTypes()\n',
    to: `        return fetchArrayTypes().catch(() => {}) ${marker}\n`,
  },
];

const root = path.resolve(__dirname, '..', 'node_modules', 'postgres');
for (const build of ['cjs/src', 'src', 'cf/src']) {
  const file = path.join(root, build, 'connection.js');
  if (!existsSync(file)) continue;
  let text = readFileSync(file, 'utf8');
  for (const guard of guards) {
    if (text.includes(guard.to)) continue;
    if (!text.includes(guard.from)) {
      console.warn(`patch-postgres: ${file} has changed; not applied: ${guard.what}`);
      continue;
    }
    text = text.split(guard.from).join(guard.to);
  }
  writeFileSync(file, text);
}
