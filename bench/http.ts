// A small keep-alive HTTP client for the load driver: cheaper per request than fetch, so the
// driver's own CPU takes less from the two cores it shares with what it measures.
import http from 'node:http';

// Enough sockets that at the ingest sweep's 2,000/s requests wait in the server, not the driver.
const agent = new http.Agent({ keepAlive: true, maxSockets: 1024 });

export interface Reply {
  status: number;
  body: string;
}

export async function request(
  method: string,
  url: string,
  body?: string,
  headers: Record<string, string> = {},
): Promise<Reply> {
  try {
    return await requestOnce(method, url, body, headers, agent);
  } catch (err) {
    // Most likely a kept-alive socket the server closed as idle just as this request went out on
    // it (Node's http docs), though a server may also have read the request and dropped the
    // socket before answering: every call the driver makes is safe to send twice (a pay order
    // is created once for its merchant order number, a repeated pay is answered from the books,
    // the sandbox refuses a second payment). Once more, on a connection of its own, not on
    // another socket of the pool that may have gone stale with the first.
    if (!(err instanceof ResetOnReuse)) throw err;
    return requestOnce(method, url, body, headers, false);
  }
}

class ResetOnReuse extends Error {}

function requestOnce(
  method: string,
  url: string,
  body: string | undefined,
  headers: Record<string, string>,
  through: http.Agent | false,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method,
        agent: through,
        headers: {
          ...(body === undefined
            ? {}
            : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }),
          ...headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'ECONNRESET' && req.reusedSocket
          ? new ResetOnReuse(`${method} ${url}: ${err.message} on a reused socket`)
          : err,
      ),
    );
    req.end(body);
  });
}

/** A JSON call that must answer 2xx; anything else is an error with the answer in it. */
export async function json<T>(
  method: string,
  url: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<T> {
  const reply = await request(
    method,
    url,
    body === undefined ? undefined : JSON.stringify(body),
    headers,
  );
  if (reply.status < 200 || reply.status >= 300) {
    throw new Error(`${method} ${url} answered ${reply.status}: ${reply.body.slice(0, 300)}`);
  }
  return (reply.body ? JSON.parse(reply.body) : undefined) as T;
}

export function closeIdleSockets() {
  agent.destroy();
}
