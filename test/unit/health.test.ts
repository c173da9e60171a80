// Readiness as the probes compute it, without servers: checks run under one deadline, a hung
// dependency is a failure named after it (never a hung probe), errors reach the caller in safe
// words and the log once per outage, and a worker that drains or lost a poller is not ready.
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import type { WorkerStatus } from '@temporalio/worker';
import { requestIdOf } from '../../src/api/requestLogs';
import {
  createReadiness,
  NotReady,
  startHealthServer,
  workerCheck,
  type CheckName,
  type Readiness,
  type ReadinessCheck,
} from '../../src/health';

/** A logger that keeps what it was told. */
function recordingLog() {
  const told: { level: 'info' | 'warn'; msg: string }[] = [];
  return {
    told,
    info: (_fields: object, msg: string) => void told.push({ level: 'info', msg }),
    warn: (_fields: object, msg: string) => void told.push({ level: 'warn', msg }),
  } as any;
}

const check = (name: CheckName, probe: () => Promise<void>): ReadinessCheck => ({ name, probe });
const hangs = () => new Promise<void>(() => {});

function status(overrides: Partial<WorkerStatus>): WorkerStatus {
  return {
    runState: 'RUNNING',
    workflowPollerState: 'POLLING',
    activityPollerState: 'POLLING',
    ...overrides,
  } as WorkerStatus;
}

describe('readiness', () => {
  it('is ok when every check is, with how long each took', async () => {
    const readiness = createReadiness(
      [check('database', async () => {}), check('temporal', async () => {})],
      { timeoutMs: 500, log: recordingLog() },
    );
    const answer = await readiness();
    assert.equal(answer.status, 'ok');
    assert.equal(answer.checks.database?.status, 'ok');
    assert.equal(typeof answer.checks.temporal?.durationMs, 'number');
  });

  it('fails a check that does not answer by the deadline, and answers by then', async () => {
    const readiness = createReadiness(
      [check('database', async () => {}), check('temporal', hangs)],
      { timeoutMs: 100, log: recordingLog() },
    );
    const started = Date.now();
    const answer = await readiness();
    assert.ok(Date.now() - started < 1_000, 'the probe did not hang');
    assert.equal(answer.status, 'unavailable');
    assert.deepEqual(answer.checks.temporal, {
      status: 'failed',
      durationMs: answer.checks.temporal?.durationMs,
      error: 'no answer within 100 ms',
    });
    assert.equal(answer.checks.database?.status, 'ok');
  });

  it('tells the caller nothing internal, and logs an outage once and its end once', async () => {
    const log = recordingLog();
    let down = true;
    const readiness = createReadiness(
      [
        check('database', async () => {
          if (down) throw new Error('connect ECONNREFUSED 10.1.2.3:5432 as user paycenter');
        }),
      ],
      { timeoutMs: 500, log },
    );
    const first = await readiness();
    await readiness();
    assert.equal(first.checks.database?.error, 'the check failed (see the logs)');
    assert.ok(!JSON.stringify(first).includes('10.1.2.3'));
    down = false;
    assert.equal((await readiness()).status, 'ok');
    await readiness();
    assert.deepEqual(
      log.told.map((t: { level: string }) => t.level),
      ['warn', 'info'],
    );
  });

  it('is not ready while the worker drains, stopped, or a poller failed', async () => {
    const cases: [Partial<WorkerStatus>, string | undefined][] = [
      [{}, undefined],
      [{ runState: 'DRAINING' }, 'the worker is DRAINING'],
      [{ runState: 'STOPPED' }, 'the worker is STOPPED'],
      [{ activityPollerState: 'FAILED' }, 'the activity poller is FAILED'],
      [{ workflowPollerState: 'SHUTDOWN' }, 'the workflow poller is SHUTDOWN'],
    ];
    for (const [overrides, error] of cases) {
      const readiness = createReadiness([workerCheck({ getStatus: () => status(overrides) })], {
        timeoutMs: 500,
        log: recordingLog(),
      });
      const answer = await readiness();
      assert.equal(answer.checks.worker?.error, error, JSON.stringify(overrides));
      assert.equal(answer.status, error ? 'unavailable' : 'ok');
    }
  });

  it('a NotReady failure says its own words', async () => {
    const readiness = createReadiness(
      [
        check('worker', async () => {
          throw new NotReady('the worker is STOPPING');
        }),
      ],
      { timeoutMs: 500, log: recordingLog() },
    );
    assert.equal((await readiness()).checks.worker?.error, 'the worker is STOPPING');
  });
});

describe("a worker's probe server", () => {
  it('answers /livez always, /readyz 200 or 503 by readiness, and nothing else', async () => {
    let answer: Readiness<'temporal'> = {
      status: 'ok',
      checks: { temporal: { status: 'ok', durationMs: 1 } },
    };
    const server = await startHealthServer({
      host: '127.0.0.1',
      port: 0,
      readiness: async () => answer,
    });
    try {
      const get = (path: string, method = 'GET') => fetch(`${server.url}${path}`, { method });
      assert.equal((await get('/livez')).status, 200);
      assert.equal((await get('/readyz')).status, 200);
      answer = {
        status: 'unavailable',
        checks: { temporal: { status: 'failed', durationMs: 5, error: 'no answer within 5 ms' } },
      };
      const unready = await get('/readyz?verbose=1');
      assert.equal(unready.status, 503);
      assert.deepEqual(await unready.json(), answer);
      assert.equal(unready.headers.get('cache-control'), 'no-store');
      assert.equal((await get('/livez')).status, 200, 'live whatever readiness says');
      assert.equal((await get('/metrics')).status, 404);
      assert.equal((await get('/readyz', 'POST')).status, 405);
    } finally {
      await server.stop();
    }
  });
});

describe('request IDs', () => {
  const withHeaders = (headers: Record<string, string | string[]>) =>
    ({ headers }) as unknown as IncomingMessage;

  it("keeps a caller's short plain token, Request-Id before X-Request-Id", () => {
    assert.equal(requestIdOf(withHeaders({ 'request-id': 'abc-1.2:3_4' })), 'abc-1.2:3_4');
    assert.equal(requestIdOf(withHeaders({ 'x-request-id': 'lb-77' })), 'lb-77');
    assert.equal(
      requestIdOf(withHeaders({ 'request-id': 'first', 'x-request-id': 'second' })),
      'first',
    );
    assert.equal(requestIdOf(withHeaders({ 'request-id': 'a'.repeat(64) })), 'a'.repeat(64));
  });

  it('makes its own for anything else: long, spaced, line breaks, repeated, empty', () => {
    const given = ['a'.repeat(65), 'two words', 'line\nbreak', '-leading', ''];
    for (const id of given) {
      const made = requestIdOf(withHeaders({ 'request-id': id }));
      assert.match(made, /^[0-9a-f]{8}-[0-9a-f]{4}-/, JSON.stringify(id));
    }
    const repeated = requestIdOf(withHeaders({ 'x-request-id': ['one', 'two'] }));
    assert.notEqual(repeated, 'one');
    assert.notEqual(requestIdOf(withHeaders({})), requestIdOf(withHeaders({})));
  });
});
