// The bench driver's keep-alive HTTP client: a request that goes out on a kept-alive socket the
// server has just dropped is sent again, once, on a connection of its own; and only such a request.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { closeIdleSockets, request } from '../../bench/http';

describe('bench HTTP client', () => {
  let server: http.Server;
  let base = '';
  /** Requests the server read, by the socket's place in the order sockets connected. */
  const seen: { socket: number; path: string }[] = [];

  before(async () => {
    const sockets = new WeakMap<object, number>();
    let connected = 0;
    server = http.createServer((req, res) => {
      if (!sockets.has(req.socket)) sockets.set(req.socket, ++connected);
      const socket = sockets.get(req.socket)!;
      seen.push({ socket, path: req.url ?? '' });
      const requestsOnSocket = seen.filter((s) => s.socket === socket).length;
      // The socket dropped with no answer: for the driver, as if the server had closed it as
      // idle just as the request went out on it.
      if (req.url === '/dropped-when-reused' && requestsOnSocket > 1) return req.socket.destroy();
      const earlier = seen.filter((s) => s.path === req.url).length - 1;
      if (req.url === '/dropped-after-first' && earlier > 0) return req.socket.destroy();
      if (req.url === '/always-dropped') return req.socket.destroy();
      res.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    closeIdleSockets();
    await new Promise((resolve) => server.close(resolve));
  });

  it('sends a request again on a new socket when its kept-alive socket is reset', async () => {
    seen.length = 0;
    assert.equal((await request('GET', `${base}/dropped-when-reused`)).status, 200);
    const again = await request('GET', `${base}/dropped-when-reused`);
    assert.deepEqual(again, { status: 200, body: 'ok' });
    assert.equal(seen.length, 3);
    assert.equal(seen[1]!.socket, seen[0]!.socket, 'the second request reused the first socket');
    assert.notEqual(seen[2]!.socket, seen[0]!.socket, 'and was sent again on a new one');
  });

  it('sends it again once only', async () => {
    closeIdleSockets();
    seen.length = 0;
    assert.equal((await request('GET', `${base}/dropped-after-first`)).status, 200);
    await assert.rejects(
      request('GET', `${base}/dropped-after-first`),
      /socket hang up|ECONNRESET/,
    );
    assert.equal(seen.length, 3, 'the first, the one on the reused socket, and its one resend');
  });

  it('does not send again a request whose socket was new', async () => {
    closeIdleSockets();
    seen.length = 0;
    await assert.rejects(request('GET', `${base}/always-dropped`), /socket hang up|ECONNRESET/);
    assert.equal(seen.length, 1);
  });
});
