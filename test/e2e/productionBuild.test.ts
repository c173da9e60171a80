// Issue 16, the compiled production build: `npm run build`'s JavaScript runs the simulator, a
// worker and the API as processes with no development dependency (each load of one fails, as in
// the image built with `npm ci --omit=dev`), the worker starts from the prebuilt workflow bundle,
// and a payment goes through them from create to SUCCEEDED.
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { prebuiltBundleName } from '../../src/workflowBundle';
import { freePort } from '../support/ports';
import { unique } from '../support/payments';
import { eventually, runDatabaseUrl, runTemporalAddress } from '../support/system';

const root = path.resolve(__dirname, '../..');
const build = path.join(root, 'test-output', `build-${process.pid}`);
const guard = path.join(root, 'test/support/productionOnly.cjs');
const running: { name: string; child: ChildProcess; output: () => string }[] = [];
let env: Record<string, string>;
let apiUrl: string;
let simulatorUrl: string;

/** `node --require productionOnly.cjs <build>/src/main.js <args>`, as the image runs it. */
const mainArgs = (args: string[]) => ['--require', guard, path.join(build, 'src/main.js'), ...args];

async function command(args: string[]) {
  const { stdout } = await promisify(execFile)(process.execPath, mainArgs(args), {
    cwd: root,
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
  return stdout;
}

function startProcess(name: string, args: string[]) {
  const child = spawn(process.execPath, mainArgs(args), {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  running.push({ name, child, output: () => output });
}

async function answers(url: string) {
  return fetch(url).then(
    (r) => r.ok,
    () => false,
  );
}

before(async () => {
  await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', 'scripts/build.ts', '--out', build],
    { cwd: root },
  );
  const [apiPort, simulatorPort] = [await freePort(), await freePort()];
  apiUrl = `http://127.0.0.1:${apiPort}`;
  simulatorUrl = `http://127.0.0.1:${simulatorPort}`;
  env = {
    LOG_LEVEL: 'warn',
    DATA_DIR: mkdtempSync(path.join(tmpdir(), 'paycenter-build-')),
    DATABASE_URL: runDatabaseUrl(),
    TEMPORAL_ADDRESS: runTemporalAddress(),
    TEMPORAL_TASK_QUEUE: `payments-build-${randomUUID()}`,
    API_PORT: String(apiPort),
    PUBLIC_API_URL: apiUrl,
    SIMULATOR_PORT: String(simulatorPort),
    SIMULATOR_URL: simulatorUrl,
    PAYCENTER_SECRET_KEY: randomBytes(32).toString('hex'),
  };
  await command(['migrate']);
  startProcess('simulator', ['simulator']);
  startProcess('worker', ['worker']);
  startProcess('api', ['api']);
  await eventually(
    async () => {
      const exited = running.find((p) => p.child.exitCode !== null);
      if (exited) throw new Error(`${exited.name} exited:\n${exited.output()}`);
      return (await answers(`${apiUrl}/healthz`)) && (await answers(`${simulatorUrl}/healthz`));
    },
    { what: 'the built API and simulator to answer', timeoutMs: 60_000 },
  );
});

after(async () => {
  for (const { child } of running) child.kill('SIGTERM');
  for (const { child } of running) {
    if (child.exitCode === null) await new Promise((r) => child.once('exit', r));
  }
  rmSync(build, { recursive: true, force: true });
  if (env?.DATA_DIR) rmSync(env.DATA_DIR, { recursive: true, force: true });
});

describe('the production build (issue 16)', () => {
  it('takes a payment from create to SUCCEEDED with production dependencies alone', async () => {
    const created = await command(['merchant', 'create', '--name', unique('build-shop')]);
    const apiKey = /API key:\s+(\S+)/.exec(created)?.[1];
    assert.ok(apiKey, created);
    const merchant = async (method: string, url: string, body?: unknown) => {
      const answer = await fetch(`${apiUrl}${url}`, {
        method,
        headers: {
          authorization: `Bearer ${apiKey}`,
          ...(body ? { 'content-type': 'application/json' } : {}),
        },
        body: body ? JSON.stringify(body) : undefined,
      });
      return { status: answer.status, body: (await answer.json()) as Record<string, any> };
    };
    const order = await merchant('POST', '/v1/pay-orders', {
      merchantOrderNo: unique('build'),
      amount: 1_234,
      currency: 'CNY',
      subject: 'Built, not transpiled',
    });
    assert.equal(order.status, 201, JSON.stringify(order.body));
    const paying = await merchant('POST', `/v1/pay-orders/${order.body.id}/pay`, {
      channel: 'sandbox',
      method: 'qr',
    });
    assert.equal(paying.status, 200, JSON.stringify(paying.body));
    const paid = await fetch(
      `${simulatorUrl}/control/payments/${paying.body.attempt.outTradeNo}/pay`,
      { method: 'POST' },
    );
    assert.equal(paid.status, 200, await paid.text());
    await eventually(
      async () =>
        (await merchant('GET', `/v1/pay-orders/${order.body.id}`)).body.status === 'SUCCEEDED',
      { what: 'the order to succeed', timeoutMs: 30_000 },
    );

    // The cashier's files came along; the worker never bundled, the prebuilt bundle ran.
    const script = await fetch(`${apiUrl}/cashier/assets/cashier.js`);
    assert.equal(script.status, 200);
    for (const { name, output } of running) {
      assert.doesNotMatch(output(), /development dependency/, `${name}:\n${output()}`);
    }
    const worker = running.find((p) => p.name === 'worker')!.output();
    assert.match(worker, /Workflow code\s+prebuilt/, worker);
    // The prebuilt bundle carries the workflows' tracing interceptors (src/workflows/tracing.ts).
    const bundle = readFileSync(path.join(build, 'src', prebuiltBundleName), 'utf8');
    assert.match(bundle, /OpenTelemetryInboundInterceptor/);
  });
});
