// A Temporal cluster that demands mutual TLS: paycenter's worker and API reach it with the CA, client
// certificate and server name from TEMPORAL_TLS_* and a payment settles through it; without a
// client certificate the cluster refuses the handshake and paycenter does not start.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { paidOrder } from '../support/payments';
import { runTemporalAddress, startTestSystem } from '../support/system';
import { relay } from '../support/tcpProxy';
import { makeTestCertificates, type TestCertificates } from '../support/tlsCertificates';

const serverName = 'temporal.paycenter.test';

/**
 * A TLS front of the run's Temporal, as a cluster's frontend would be: it asks every client for a
 * certificate signed by the CA, refuses the handshake without one, and passes the bytes (gRPC over
 * HTTP/2) through to the plaintext dev server.
 */
async function startMutualTlsFront(certs: TestCertificates) {
  const [host, port] = runTemporalAddress().split(':') as [string, string];
  const clients: string[] = [];
  const refusals: string[] = [];
  const open = new Set<net.Socket>();
  const server = tls.createServer(
    {
      key: readFileSync(certs.server.key),
      cert: readFileSync(certs.server.cert),
      ca: readFileSync(certs.ca),
      requestCert: true,
      rejectUnauthorized: true,
      ALPNProtocols: ['h2'],
    },
    (client) => {
      clients.push(client.getPeerCertificate().subject.CN as string);
      relay(client, { host, port: Number(port) }, open);
    },
  );
  server.on('tlsClientError', (err) => refusals.push(err.message));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    address: `127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    /** The CN of each client certificate the front accepted, and why it refused handshakes. */
    clients,
    refusals,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

let certs: TestCertificates;
let front: Awaited<ReturnType<typeof startMutualTlsFront>>;
before(async () => {
  certs = makeTestCertificates(serverName);
  front = await startMutualTlsFront(certs);
});
after(async () => {
  await front?.close();
  certs?.remove();
});

const serverTrust = () => ({
  TEMPORAL_ADDRESS: front.address,
  TEMPORAL_TLS_SERVER_CA_CERT_PATH: certs.ca,
  TEMPORAL_TLS_SERVER_NAME: serverName,
});

describe('a Temporal cluster behind mutual TLS', () => {
  it('takes a payment to SUCCEEDED with the client certificate from TEMPORAL_TLS_*', async () => {
    const system = await startTestSystem({
      temporalAddress: front.address,
      env: {
        ...serverTrust(),
        TEMPORAL_TLS_CLIENT_CERT_PATH: certs.client.cert,
        TEMPORAL_TLS_CLIENT_KEY_PATH: certs.client.key,
      },
    });
    try {
      await paidOrder(system, { prefix: 'tls', amount: 2_680, subject: 'Train ticket' });
      // Worker and API reached Temporal through the front, as the client certificate's holder.
      assert.ok(
        front.clients.length >= 2,
        `connections through the front: ${front.clients.join(', ')}`,
      );
      assert.ok(
        front.clients.every((cn) => cn === 'paycenter-worker'),
        front.clients.join(', '),
      );
    } finally {
      await system.stop();
    }
  });

  it('refuses a paycenter without a client certificate, which then does not start', async () => {
    const refusedBefore = front.refusals.length;
    await assert.rejects(
      startTestSystem({ temporalAddress: front.address, env: serverTrust() }),
      (err: Error) => {
        // The operator reads which Temporal and which security. TLS 1.3 ends the client's side of
        // the handshake before the server checks its certificate, so the SDK's own reason is the
        // server's alert or only a closed connection; the front's record says why (below).
        assert.match(err.message, new RegExp(`^Temporal at ${front.address} \\(TLS, server CA`));
        return true;
      },
    );
    assert.ok(front.refusals.length > refusedBefore, 'the front refused a handshake');
    assert.match(front.refusals.at(-1)!, /certificate/i);
  });

  it('does not start against a server whose certificate is for another name', async () => {
    await assert.rejects(
      startTestSystem({
        temporalAddress: front.address,
        env: {
          ...serverTrust(),
          TEMPORAL_TLS_SERVER_NAME: 'payments.elsewhere.test',
          TEMPORAL_TLS_CLIENT_CERT_PATH: certs.client.cert,
          TEMPORAL_TLS_CLIENT_KEY_PATH: certs.client.key,
        },
      }),
      (err: Error) => {
        assert.match(err.message, /server name payments\.elsewhere\.test\) could not be reached/);
        assert.match(err.message, /NotValidForName/);
        return true;
      },
    );
  });
});
