// A crash in the middle of a request must not wedge anything: an Idempotency-Key left IN_PROGRESS
// by a request that died is taken over by a retry once its lease runs out, a pay order whose
// workflow never started (the API died between the insert and the start) starts it when it is next
// touched, and a safety-net scan starts it when nobody touches it. The crashes are written into the
// books here exactly as they would have left them.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WorkflowNotFoundError } from '@temporalio/client';
import { and, eq } from 'drizzle-orm';
import { idempotencyKeys, payOrders, refunds } from '../../src/db/schema';
import { newId } from '../../src/domain/ids';
import type { SafetyNetReport } from '../../src/domain/safetyNet';
import { demoMerchantId } from '../../src/services/merchants';
import { merchantRefundReason } from '../../src/services/refunds';
import { eventually, startTestSystem, type TestSystem } from '../support/system';
import { payOrderBody, unique } from '../support/payments';

const LEASE_SECONDS = 5;

let system: TestSystem;
/** A merchant endpoint that accepts every notification. */
const merchantEndpoint = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => res.writeHead(200).end());
});
let notifyUrl = '';

before(async () => {
  await new Promise<void>((resolve) => merchantEndpoint.listen(0, '127.0.0.1', resolve));
  notifyUrl = `http://127.0.0.1:${(merchantEndpoint.address() as AddressInfo).port}/notify`;
  system = await startTestSystem({
    // The scans read the whole books.
    ownDatabase: true,
    env: {
      IDEMPOTENCY_LEASE_SECONDS: String(LEASE_SECONDS),
      LATE_WINDOW_SECONDS: '2',
      MERCHANT_NOTIFY_RETRY_SECONDS: '1,1',
      SAFETY_NET_GRACE_SECONDS: '30',
      // Scans run on request here.
      SAFETY_NET_INTERVAL_SECONDS: '86400',
    },
  });
});
after(async () => {
  await system?.stop();
  await new Promise((resolve) => merchantEndpoint.close(resolve));
});

const secondsAgo = (seconds: number) => new Date(Date.now() - seconds * 1000);

const orderBody = () =>
  payOrderBody({
    prefix: 'heal-order',
    amount: 4_200,
    subject: 'Crash-proof goods',
    expiresInSeconds: 300,
  });

/** A POST with an Idempotency-Key, answering whether the answer was a replay. */
async function postWithKey(path: string, body: unknown, key: string) {
  const response = await fetch(`${system.apiUrl}${path}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${system.apiKey}`,
      'content-type': 'application/json',
      'idempotency-key': key,
    },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  return {
    status: response.status,
    replayed: response.headers.get('idempotent-replayed') === 'true',
    body: text ? JSON.parse(text) : undefined,
  };
}

/** The key's row as a request that crashed `secondsAgo` after claiming it left it. */
async function keyLeftByCrashedRequest(path: string, body: unknown, key: string, ago: number) {
  await system.database.db.insert(idempotencyKeys).values({
    merchantId: demoMerchantId,
    key,
    method: 'POST',
    path,
    requestHash: createHash('sha256').update(JSON.stringify(body)).digest('hex'),
    status: 'IN_PROGRESS',
    createdAt: secondsAgo(ago),
  });
}

async function keyRow(key: string) {
  const [row] = await system.database.db
    .select()
    .from(idempotencyKeys)
    .where(and(eq(idempotencyKeys.merchantId, demoMerchantId), eq(idempotencyKeys.key, key)));
  return row;
}

/** A pay order as the API left it when it died after the insert, before starting the workflow. */
async function orderLeftByCrashedCreate(options: { createdAgo: number; expiresInSeconds: number }) {
  const createdAt = secondsAgo(options.createdAgo);
  const [row] = await system.database.db
    .insert(payOrders)
    .values({
      id: newId('po', createdAt.getTime(), Math.random),
      merchantId: demoMerchantId,
      merchantOrderNo: unique('crashed-create'),
      amount: 3_100,
      currency: 'CNY',
      subject: 'Orphaned order',
      expiresAt: new Date(createdAt.getTime() + options.expiresInSeconds * 1000),
      notifyUrl,
      createdAt,
    })
    .returning();
  return row!;
}

async function workflowExists(id: string): Promise<boolean> {
  try {
    await system.temporal.workflow.getHandle(id).describe();
    return true;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

async function storedOrder(id: string) {
  const [row] = await system.database.db.select().from(payOrders).where(eq(payOrders.id, id));
  return row!;
}

async function scan(): Promise<SafetyNetReport> {
  const answer = await system.ops('POST', '/ops/safety-net/scans', {});
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  return answer.body;
}

/** A paid order, and a merchant refund of it as the API left it when it died before the start. */
async function refundLeftByCrashedCreate(createdAgo: number) {
  const created = await system.api('POST', '/v1/pay-orders', orderBody());
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const paid = await system.api('POST', `/v1/pay-orders/${created.body.id}/pay`, {
    channel: 'sandbox',
  });
  assert.equal(paid.status, 200, JSON.stringify(paid.body));
  await system.simulator('POST', `/control/payments/${paid.body.attempt.outTradeNo}/pay`);
  const order = await eventually(
    async () => {
      const row = await storedOrder(created.body.id);
      return row.status === 'SUCCEEDED' && row;
    },
    { what: 'the order to be paid' },
  );
  const createdAt = secondsAgo(createdAgo);
  const [refund] = await system.database.db
    .insert(refunds)
    .values({
      id: newId('rf', createdAt.getTime(), Math.random),
      payOrderId: order.id,
      merchantId: demoMerchantId,
      attemptId: order.paidAttemptId!,
      merchantRefundNo: unique('crashed-refund'),
      amount: 1_000,
      currency: 'CNY',
      reason: merchantRefundReason,
      status: 'PROCESSING',
      createdAt,
    })
    .returning();
  return refund!;
}

async function refundStatus(id: string) {
  const [row] = await system.database.db.select().from(refunds).where(eq(refunds.id, id));
  return row!.status;
}

describe('healing after a crash mid-request', () => {
  it('defect 5: a retry after the lease of a crashed request takes over its Idempotency-Key', async () => {
    const key = unique('crashed-key');
    const body = orderBody();
    await keyLeftByCrashedRequest('/v1/pay-orders', body, key, LEASE_SECONDS * 3);

    const retry = await postWithKey('/v1/pay-orders', body, key);
    assert.equal(retry.status, 201, JSON.stringify(retry.body));
    assert.equal(retry.replayed, false);
    assert.equal(retry.body.merchantOrderNo, body.merchantOrderNo);
    assert.equal((await keyRow(key))?.status, 'COMPLETED');

    const again = await postWithKey('/v1/pay-orders', body, key);
    assert.deepEqual([again.status, again.replayed, again.body.id], [201, true, retry.body.id]);
  });

  it('defect 5: a retry within the lease of a running request still answers 409', async () => {
    const key = unique('running-key');
    const body = orderBody();
    await keyLeftByCrashedRequest('/v1/pay-orders', body, key, 0);

    const retry = await postWithKey('/v1/pay-orders', body, key);
    assert.equal(retry.status, 409, JSON.stringify(retry.body));
    assert.equal(retry.body.code, 'IDEMPOTENCY_KEY_IN_USE');
    const [created] = await system.database.db
      .select()
      .from(payOrders)
      .where(eq(payOrders.merchantOrderNo, body.merchantOrderNo));
    assert.equal(created, undefined);
  });

  it('defect 5: retries racing for an expired lease never both run', async () => {
    const key = unique('raced-key');
    const body = orderBody();
    await keyLeftByCrashedRequest('/v1/pay-orders', body, key, LEASE_SECONDS * 3);

    const answers = await Promise.all(
      Array.from({ length: 6 }, () => postWithKey('/v1/pay-orders', body, key)),
    );
    // One retry ran the request; every other one was refused (still running) or replayed.
    const ran = answers.filter((a) => a.status !== 409 && !a.replayed);
    assert.deepEqual(
      ran.map((a) => a.status),
      [201],
      JSON.stringify(answers.map((a) => [a.status, a.replayed])),
    );
    for (const a of answers.filter((a) => a.status === 409)) {
      assert.equal(a.body.code, 'IDEMPOTENCY_KEY_IN_USE');
    }
  });

  it('defect 5: reading a pay order whose workflow never started starts it', async () => {
    const order = await orderLeftByCrashedCreate({ createdAgo: 0, expiresInSeconds: 300 });
    assert.equal(await workflowExists(order.id), false);

    const read = await system.api('GET', `/v1/pay-orders/${order.id}`);
    assert.equal(read.status, 200, JSON.stringify(read.body));
    assert.equal(read.body.status, 'CREATED');
    assert.equal(await workflowExists(order.id), true);
    assert.equal((await storedOrder(order.id)).workflowStarted, true);
  });

  it('defect 5: paying a pay order whose workflow never started starts it and pays', async () => {
    const order = await orderLeftByCrashedCreate({ createdAgo: 0, expiresInSeconds: 300 });

    const paid = await system.api('POST', `/v1/pay-orders/${order.id}/pay`, {
      channel: 'sandbox',
    });
    assert.equal(paid.status, 200, JSON.stringify(paid.body));
    await system.simulator('POST', `/control/payments/${paid.body.attempt.outTradeNo}/pay`);
    await eventually(async () => (await storedOrder(order.id)).status === 'SUCCEEDED', {
      what: 'the healed order to be paid',
    });
  });

  it('defect 5: a safety-net scan starts the workflow of an order nobody touches; it closes and the merchant is told', async () => {
    // Crashed a minute ago with 30 s of validity: it expired before anything healed it.
    const order = await orderLeftByCrashedCreate({ createdAgo: 60, expiresInSeconds: 30 });

    const report = await scan();
    assert.equal(await workflowExists(order.id), true, 'the scan starts the workflow');
    assert.deepEqual(
      report.actions.filter((a) => a.payOrderId === order.id).map((a) => [a.check, a.action]),
      [['WORKFLOW_NOT_STARTED', 'WORKFLOW_STARTED']],
    );
    assert.ok(report.autoCorrected.includes(order.id));

    const closed = await eventually(
      async () => {
        const view = (await system.api('GET', `/v1/pay-orders/${order.id}`)).body;
        return view.status === 'CLOSED' && view.notifications[0]?.status === 'DELIVERED' && view;
      },
      { what: 'the healed order to close and the merchant to be told' },
    );
    assert.deepEqual(
      closed.notifications.map((n: { type: string }) => n.type),
      ['pay_order.closed'],
    );

    // Healed: the next scan has nothing left to start.
    const next = await scan();
    assert.deepEqual(
      next.actions.filter((a) => a.payOrderId === order.id),
      [],
    );
  });

  it('defect 5: a safety-net scan leaves an order within its grace period to the API', async () => {
    // Just created: the API that inserted it may still be starting its workflow.
    const order = await orderLeftByCrashedCreate({ createdAgo: 0, expiresInSeconds: 300 });
    const report = await scan();
    assert.deepEqual(
      report.actions.filter((a) => a.payOrderId === order.id),
      [],
    );
    assert.equal(await workflowExists(order.id), false);
  });

  it('defect 5: a safety-net scan sweeps idempotency keys past their time to live', async () => {
    const stale = unique('stale-key');
    const fresh = unique('fresh-key');
    for (const [key, ago] of [
      [stale, 25 * 3600],
      [fresh, 60],
    ] as const) {
      await system.database.db.insert(idempotencyKeys).values({
        merchantId: demoMerchantId,
        key,
        method: 'POST',
        path: '/v1/pay-orders',
        requestHash: 'x',
        status: 'COMPLETED',
        responseStatus: 201,
        responseBody: '{}',
        createdAt: secondsAgo(ago),
        completedAt: secondsAgo(ago),
      });
    }
    await scan();
    assert.equal(await keyRow(stale), undefined);
    assert.equal((await keyRow(fresh))?.status, 'COMPLETED');
  });

  it('defect 5: reading a merchant refund whose workflow never started starts it', async () => {
    const refund = await refundLeftByCrashedCreate(0);
    assert.equal(await workflowExists(refund.id), false);

    const read = await system.api('GET', `/v1/refunds/${refund.id}`);
    assert.equal(read.status, 200, JSON.stringify(read.body));
    assert.equal(await workflowExists(refund.id), true);
    await eventually(async () => (await refundStatus(refund.id)) === 'SUCCEEDED', {
      what: 'the healed refund to succeed',
    });
  });

  it('defect 5: a safety-net scan starts the workflow of a merchant refund nobody touches', async () => {
    const refund = await refundLeftByCrashedCreate(60);

    const report = await scan();
    assert.equal(await workflowExists(refund.id), true, 'the scan starts the refund workflow');
    assert.deepEqual(
      report.actions.filter((a) => a.subject === refund.id).map((a) => [a.check, a.action]),
      [['REFUND_WORKFLOW_NOT_STARTED', 'WORKFLOW_STARTED']],
    );
    await eventually(async () => (await refundStatus(refund.id)) === 'SUCCEEDED', {
      what: 'the healed refund to succeed',
    });
  });
});
