// Probes as an orchestrator asks them, on the API and on a worker's probe server: /livez answers
// while the process runs, whatever is down; /readyz answers 503 naming what is unreachable
// (Temporal, the database) within its deadline, and 200 again once it is back. The system reaches
// Temporal and PostgreSQL through links the test cuts; both servers stay up for the other files.
// @cluster: /readyz 503 while Temporal is unreachable, 200 once it is back.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../support/ports';
import {
  eventually,
  runDatabaseUrl,
  runTemporalAddress,
  startTestSystem,
  type TestSystem,
} from '../support/system';
import { startTcpProxy, type TcpProxy } from '../support/tcpProxy';

let system: TestSystem;
let temporalLink: TcpProxy;
let databaseLink: TcpProxy;
let workerUrl: string;
const readinessTimeoutMs = 1_000;

before(async () => {
  const [temporalHost, temporalPort] = runTemporalAddress().split(':');
  temporalLink = await startTcpProxy({ host: temporalHost!, port: Number(temporalPort) });
  const direct = new URL(runDatabaseUrl());
  databaseLink = await startTcpProxy({ host: direct.hostname, port: Number(direct.port || 5432) });
  const viaLink = new URL(direct);
  viaLink.host = databaseLink.address;
  const workerPort = await freePort();
  workerUrl = `http://127.0.0.1:${workerPort}`;
  system = await startTestSystem({
    temporalAddress: temporalLink.address,
    databaseUrl: viaLink.toString(),
    env: {
      WORKER_HEALTH_PORT: String(workerPort),
      READINESS_TIMEOUT_MS: String(readinessTimeoutMs),
      // Low, so the test can show that probes are never counted against it.
      API_RATE_LIMIT_PER_MINUTE: '5',
    },
  });
});
after(async () => {
  temporalLink?.restore();
  databaseLink?.restore();
  await system?.stop();
  await temporalLink?.close();
  await databaseLink?.close();
});

async function probe(url: string) {
  const started = Date.now();
  const answer = await fetch(url);
  return {
    status: answer.status,
    body: (await answer.json()) as any,
    tookMs: Date.now() - started,
    cacheControl: answer.headers.get('cache-control'),
  };
}

const api = (path: string) => probe(`${system.apiUrl}${path}`);
const worker = (path: string) => probe(`${workerUrl}${path}`);

/** Every failed check's error, as an unauthenticated caller reads it: no address, no credential. */
function assertNothingInternal(body: unknown) {
  const text = JSON.stringify(body);
  for (const internal of [temporalLink.address, databaseLink.address, '127.0.0.1', 'postgres']) {
    assert.ok(!text.includes(internal), `${internal} in ${text}`);
  }
}

describe('health probes', () => {
  it('answers /livez and /readyz with each check on the API and on the worker when all is up', async () => {
    const apiLive = await api('/livez');
    assert.equal(apiLive.status, 200);
    assert.deepEqual(apiLive.body, { status: 'ok' });
    const apiReady = await api('/readyz');
    assert.equal(apiReady.status, 200, JSON.stringify(apiReady.body));
    assert.equal(apiReady.body.status, 'ok');
    assert.deepEqual(Object.keys(apiReady.body.checks).sort(), ['database', 'temporal']);
    for (const check of Object.values<any>(apiReady.body.checks)) {
      assert.equal(check.status, 'ok');
      assert.equal(typeof check.durationMs, 'number');
    }
    assert.equal(apiReady.cacheControl, 'no-store');
    // The first probe still answers as it did.
    assert.deepEqual((await api('/healthz')).body, { status: 'ok' });

    assert.deepEqual((await worker('/livez')).body, { status: 'ok' });
    const workerReady = await worker('/readyz');
    assert.equal(workerReady.status, 200, JSON.stringify(workerReady.body));
    assert.deepEqual(
      Object.fromEntries(
        Object.entries<any>(workerReady.body.checks).map(([name, check]) => [name, check.status]),
      ),
      { database: 'ok', temporal: 'ok', worker: 'ok' },
    );
    assert.equal((await worker('/metrics-or-anything')).status, 404);
  });

  it('answers /readyz 503 naming Temporal while it is unreachable, within the deadline, and 200 once it is back', async () => {
    temporalLink.cut();
    try {
      for (const part of [api, worker]) {
        const down = await eventually(
          async () => {
            const answer = await part('/readyz');
            return answer.status === 503 && answer;
          },
          { what: 'readiness to fail while Temporal is unreachable' },
        );
        assert.equal(down.body.status, 'unavailable');
        assert.equal(down.body.checks.temporal.status, 'failed');
        assert.match(down.body.checks.temporal.error, /\w/);
        assert.equal(down.body.checks.database.status, 'ok', 'only what is down is named');
        assert.ok(down.tookMs < readinessTimeoutMs + 1_500, `answered in ${down.tookMs} ms`);
        assertNothingInternal(down.body);
        // Up all along: a liveness probe must not restart a process for a dependency's outage.
        assert.equal((await part('/livez')).status, 200);
      }
      assert.equal((await api('/healthz')).status, 200, '/healthz asks the database alone');
    } finally {
      temporalLink.restore();
    }
    for (const part of [api, worker]) {
      await eventually(async () => (await part('/readyz')).status === 200, {
        what: 'readiness once Temporal is back',
        timeoutMs: 60_000,
      });
    }
    const back = await worker('/readyz');
    assert.equal(back.body.checks.worker.status, 'ok', 'the worker polls again');
    // And it serves again: a pay order is created (its workflow started) through the restored link.
    const created = await system.api('POST', '/v1/pay-orders', {
      merchantOrderNo: `health-${Date.now()}`,
      amount: 1_000,
      currency: 'CNY',
      subject: 'Tea',
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
  });

  it('answers /readyz and /healthz 503 naming the database while it is unreachable', async () => {
    databaseLink.cut();
    try {
      for (const part of [api, worker]) {
        const down = await part('/readyz');
        assert.equal(down.status, 503, JSON.stringify(down.body));
        assert.equal(down.body.checks.database.status, 'failed');
        assert.equal(down.body.checks.temporal.status, 'ok');
        assertNothingInternal(down.body);
      }
      const healthz = await api('/healthz');
      assert.equal(healthz.status, 503);
      assert.deepEqual(healthz.body, { status: 'unavailable', reason: 'database' });
    } finally {
      databaseLink.restore();
    }
    await eventually(async () => (await api('/readyz')).status === 200, {
      what: 'readiness once the database is back',
    });
  });

  it('never counts probes against the rate limit', async () => {
    // Twice the budget of this address, which other requests without a key do exhaust.
    for (let i = 0; i < 10; i++) {
      for (const path of ['/livez', '/readyz', '/healthz']) {
        assert.equal((await api(path)).status, 200, `${path} #${i + 1}`);
      }
    }
    const documents = await Promise.all(
      Array.from({ length: 10 }, () => fetch(`${system.apiUrl}/openapi.json`)),
    );
    assert.ok(documents.some((answer) => answer.status === 429));
  });
});
