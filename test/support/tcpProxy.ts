// A loopback TCP proxy a test can cut and restore, to make a server paycenter depends on
// unreachable without stopping it (the run's shared PostgreSQL and Temporal stay up).
import net from 'node:net';

export interface TcpProxy {
  /** host:port of the proxy. */
  address: string;
  /** Drops every open connection and refuses new ones until `restore()`. */
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

/**
 * Passes a client's bytes to the target and back, both sockets held in `open` while they are;
 * an error on either side ends both.
 */
export function relay(
  client: net.Socket,
  target: { host: string; port: number },
  open: Set<net.Socket>,
): void {
  const upstream = net.connect(target);
  for (const socket of [client, upstream]) {
    open.add(socket);
    socket.on('close', () => open.delete(socket));
    socket.on('error', () => {
      client.destroy();
      upstream.destroy();
    });
  }
  client.pipe(upstream).pipe(client);
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  let cut = false;
  const open = new Set<net.Socket>();
  const server = net.createServer((client) => {
    if (cut) return client.destroy();
    relay(client, target, open);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  const dropAll = () => {
    for (const socket of open) socket.destroy();
  };
  return {
    address: `127.0.0.1:${port}`,
    cut() {
      cut = true;
      dropAll();
    },
    restore() {
      cut = false;
    },
    close: () =>
      new Promise<void>((resolve) => {
        dropAll();
        server.close(() => resolve());
      }),
  };
}
