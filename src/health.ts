// Liveness and readiness for an orchestrator's probes. /livez answers while the process runs and
// asks nothing; /readyz asks each dependency the part needs (the database, Temporal, and on a
// worker its pollers) under one short deadline, so a probe never hangs on a dependency that hangs.
// The API serves both through Fastify (src/api/openapi.ts); a worker process, which has no HTTP
// server of its own, through the small one here on WORKER_HEALTH_PORT.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ConnectionLike } from '@temporalio/client';
import type { WorkerStatus } from '@temporalio/worker';
import { sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { Db } from './db/client';

export type CheckName = 'database' | 'temporal' | 'worker';

/** A dependency the part needs for its work; `probe` rejects when the part cannot use it now. */
export interface ReadinessCheck<Name extends CheckName = CheckName> {
  name: Name;
  /** `deadline` (epoch ms): a probe that can pass it on to its call does, so the call ends too. */
  probe(deadline: number): Promise<void>;
}

export interface CheckOutcome {
  status: 'ok' | 'failed';
  durationMs: number;
  /** Why it failed, in words safe for an unauthenticated caller (the details are logged). */
  error?: string;
}

/** What /readyz answers: every check's outcome, by name. */
export interface Readiness<Name extends CheckName = CheckName> {
  status: 'ok' | 'unavailable';
  checks: Record<Name, CheckOutcome>;
}

/** A check's failure whose message says what is wrong without naming hosts or credentials. */
export class NotReady extends Error {}

/** The database answers a trivial query. */
export function databaseCheck(db: Db): ReadinessCheck<'database'> {
  return {
    name: 'database',
    async probe() {
      await db.execute(sql`select 1`);
    },
  };
}

/**
 * The Temporal frontend answers on this connection (the client's, or the worker's own), within
 * the deadline: a cheap call that needs no namespace.
 */
export function temporalCheck(
  connection: Pick<ConnectionLike, 'withDeadline' | 'workflowService'>,
): ReadinessCheck<'temporal'> {
  return {
    name: 'temporal',
    async probe(deadline) {
      await connection.withDeadline(deadline, () => connection.workflowService.getSystemInfo({}));
    },
  };
}

/**
 * The worker runs and both its pollers poll: a worker that is draining, stopped or failed takes
 * no new tasks, whatever its connections say.
 */
export function workerCheck(worker: { getStatus(): WorkerStatus }): ReadinessCheck<'worker'> {
  return {
    name: 'worker',
    async probe() {
      const status = worker.getStatus();
      if (status.runState !== 'RUNNING') throw new NotReady(`the worker is ${status.runState}`);
      const pollers = {
        workflow: status.workflowPollerState,
        activity: status.activityPollerState,
      };
      for (const [poller, state] of Object.entries(pollers)) {
        if (state !== 'POLLING') throw new NotReady(`the ${poller} poller is ${state}`);
      }
    },
  };
}

class Overdue extends Error {}

/** Settles with `promise`, or rejects with Overdue at `deadline`, whichever is first. */
async function byDeadline(promise: Promise<void>, deadline: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const overdue = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Overdue()), Math.max(0, deadline - Date.now()));
  });
  try {
    await Promise.race([promise, overdue]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs every check at once under one deadline, `timeoutMs` from now. A check's failure is logged
 * when it starts (with its error) and its recovery when it ends, not on every probe, so a
 * dependency that is down for an hour does not fill the log.
 */
export function createReadiness<Name extends CheckName>(
  checks: ReadinessCheck<Name>[],
  { timeoutMs, log }: { timeoutMs: number; log: Pick<Logger, 'info' | 'warn'> },
): () => Promise<Readiness<Name>> {
  const failing = new Set<CheckName>();
  const run = async (check: ReadinessCheck<Name>, deadline: number): Promise<CheckOutcome> => {
    const started = performance.now();
    const durationMs = () => Math.round(performance.now() - started);
    try {
      await byDeadline(check.probe(deadline), deadline);
      if (failing.delete(check.name)) log.info({ check: check.name }, 'readiness check ok again');
      return { status: 'ok', durationMs: durationMs() };
    } catch (err) {
      const error =
        err instanceof NotReady
          ? err.message
          : err instanceof Overdue
            ? `no answer within ${timeoutMs} ms`
            : 'the check failed (see the logs)';
      if (!failing.has(check.name)) {
        failing.add(check.name);
        log.warn({ check: check.name, err }, `readiness check failed: ${error}`);
      }
      return { status: 'failed', durationMs: durationMs(), error };
    }
  };
  return async () => {
    const deadline = Date.now() + timeoutMs;
    const outcomes = await Promise.all(checks.map((check) => run(check, deadline)));
    return {
      status: outcomes.every((outcome) => outcome.status === 'ok') ? 'ok' : 'unavailable',
      checks: Object.fromEntries(checks.map((check, i) => [check.name, outcomes[i]])) as Record<
        Name,
        CheckOutcome
      >,
    };
  };
}

/** The paths probes ask: never rate-limited, logged at debug when they pass (/healthz: the API's first). */
export const probePaths: ReadonlySet<string> = new Set(['/livez', '/readyz', '/healthz']);

/** GET /livez's answer: the process runs and serves requests; nothing else is asked. */
export const live = { status: 'ok' } as const;

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
  });
  res.end(JSON.stringify(body));
}

/**
 * Answers GET (or HEAD) /livez and /readyz on a plain node:http server; false for any other
 * request, which the caller answers, so other endpoints (metrics) can share the server.
 */
export function answerHealthProbe(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  readiness: () => Promise<Pick<Readiness, 'status'>>,
): boolean {
  const path = (req.url ?? '').split('?')[0];
  if (path !== '/livez' && path !== '/readyz') return false;
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    sendJson(res, 405, { status: 'method not allowed' });
    return true;
  }
  if (path === '/livez') {
    sendJson(res, 200, live);
    return true;
  }
  readiness().then(
    (answer) => sendJson(res, answer.status === 'ok' ? 200 : 503, answer),
    // createReadiness never rejects; anything else that does is unready, not a hung probe.
    () => sendJson(res, 503, { status: 'unavailable', checks: {} }),
  );
  return true;
}

/** A worker process's probe server: /livez and /readyz, 404 for anything else. */
export async function startHealthServer(options: {
  host: string;
  port: number;
  readiness: () => Promise<Pick<Readiness, 'status'>>;
}): Promise<{ url: string; stop(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    if (!answerHealthProbe(req, res, options.readiness)) sendJson(res, 404, { status: 'no route' });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  return {
    url: `http://${host}:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Probes keep connections alive; the process is stopping, so they end now.
        server.closeAllConnections();
      }),
  };
}
