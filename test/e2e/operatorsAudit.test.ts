// Issue 12, part 6: named ops keys, each ops request attributed to its operator, an append-only
// audit log of every operator action (GET /ops/audit), and clearing NeedsAttention with a note.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { eq, sql } from 'drizzle-orm';
import { payOrders, reconciliationDifferences } from '../../src/db/schema';
import { newId } from '../../src/domain/ids';
import { attention } from '../../src/workflows/contracts/payment';
import { eventually, runDatabaseUrl, startTestSystem, type TestSystem } from '../support/system';
import { createPayOrder } from '../support/payments';

let system: TestSystem;
before(async () => {
  system = await startTestSystem();
});
after(async () => {
  await system?.stop();
});

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
const asOps = () => bearer(system.opsKey);
const root = path.resolve(__dirname, '../..');

/** Runs `main.ts …` against the test database; answers its standard output. */
async function cli(...args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', 'src/main.ts', ...args],
    {
      cwd: root,
      env: { ...process.env, DATABASE_URL: runDatabaseUrl(), LOG_LEVEL: 'warn' },
      timeout: 30_000,
    },
  );
  return stdout;
}

async function createOpsKey(name: string): Promise<{ id: string; key: string }> {
  const stdout = await cli('ops-key', 'create', '--name', name);
  const id = /Ops key ID:\s+(opk_\S+)/.exec(stdout)?.[1];
  const key = /Ops key:\s+(\S+)/.exec(stdout)?.[1];
  assert.ok(id && key, stdout);
  return { id, key };
}

/** The audit rows of one subject, newest first. */
async function auditOf(subjectType: string, subjectId: string, key = system.opsKey) {
  const answer = await system.api(
    'GET',
    `/ops/audit?subjectType=${subjectType}&subjectId=${encodeURIComponent(subjectId)}`,
    undefined,
    bearer(key),
  );
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  return answer.body.items as any[];
}

async function needsAttention(id: string): Promise<boolean> {
  const [row] = await system.database.db
    .select({ needsAttention: payOrders.needsAttention })
    .from(payOrders)
    .where(eq(payOrders.id, id));
  return row!.needsAttention;
}

/** A pay order whose running workflow has been asked for an operator (the row says so). */
async function payOrderNeedingAttention(): Promise<string> {
  const id = await createPayOrder(system, { prefix: 'audit', amount: 1_000, subject: 'A tea' });
  await system.temporal.workflow.getHandle(id).signal(attention, 'test: please look');
  await eventually(() => needsAttention(id), { what: 'the attention flag' });
  return id;
}

describe('issue 12: operators and audit', () => {
  let alice: { id: string; key: string };

  it('issue 12: a named ops key works and its actions are attributed to its operator', async () => {
    alice = await createOpsKey('alice');
    const created = await system.api(
      'POST',
      '/ops/merchants',
      { name: 'Tea shop' },
      bearer(alice.key),
    );
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const rows = await auditOf('merchant', created.body.merchant.id);
    assert.equal(rows.length, 1);
    assert.equal(rows[0].operator, 'alice');
    assert.equal(rows[0].action, 'merchant.create');
    assert.equal(rows[0].before, null);
    assert.equal(rows[0].after.name, 'Tea shop');
    // Neither the merchant's key nor its notify secret is ever written to the log.
    const logged = JSON.stringify(rows[0]);
    assert.ok(
      !logged.includes(created.body.apiKey.key) && !logged.includes(created.body.notifySecret),
    );
    // Creating the key itself was recorded, under whoever ran the command line.
    const keyRows = await auditOf('operator_key', alice.id);
    assert.equal(keyRows.length, 1);
    assert.equal(keyRows[0].action, 'operator_key.create');
    assert.match(keyRows[0].operator, /^cli:/);
    assert.equal(keyRows[0].after.name, 'alice');
    assert.doesNotMatch(JSON.stringify(keyRows[0]), new RegExp(alice.key));
  });

  it('issue 12: a merchant created on the command line is recorded under cli:<user>', async () => {
    const stdout = await cli('merchant', 'create', '--name', 'CLI shop');
    const id = /Merchant ID:\s+(mch_\S+)/.exec(stdout)?.[1];
    assert.ok(id, stdout);
    const rows = await auditOf('merchant', id);
    assert.equal(rows.length, 1);
    assert.match(rows[0].operator, /^cli:/);
    assert.equal(rows[0].after.name, 'CLI shop');
  });

  it('issue 12: a revoked ops key is refused with 401, and the revoke is recorded', async () => {
    const bob = await createOpsKey('bob');
    assert.equal(
      (await system.api('GET', '/ops/exceptions', undefined, bearer(bob.key))).status,
      200,
    );
    await cli('ops-key', 'revoke', '--id', bob.id);
    const refused = await system.api('GET', '/ops/exceptions', undefined, bearer(bob.key));
    assert.equal(refused.status, 401, JSON.stringify(refused.body));
    assert.equal(refused.body.code, 'UNAUTHENTICATED');
    const rows = await auditOf('operator_key', bob.id);
    assert.deepEqual(
      rows.map((r) => r.action),
      ['operator_key.revoke', 'operator_key.create'],
    );
    assert.equal(rows[0].before.revokedAt, null);
    assert.ok(rows[0].after.revokedAt);
    // The built-in operator (the configured ops key) keeps working.
    assert.equal((await system.api('GET', '/ops/exceptions', undefined, asOps())).status, 200);
  });

  it('issue 12: each merchant action writes exactly one audit row with operator and before/after', async () => {
    const created = await system.api('POST', '/ops/merchants', { name: 'Noodle bar' }, asOps());
    const merchantId = created.body.merchant.id;
    const issued = await system.api('POST', `/ops/merchants/${merchantId}/keys`, {}, asOps());
    assert.equal(issued.status, 201, JSON.stringify(issued.body));
    const keyId = issued.body.id;
    const revoked = await system.api(
      'DELETE',
      `/ops/merchants/${merchantId}/keys/${keyId}`,
      undefined,
      asOps(),
    );
    assert.equal(revoked.status, 200, JSON.stringify(revoked.body));
    // A repeated revoke changes nothing and records nothing.
    await system.api('DELETE', `/ops/merchants/${merchantId}/keys/${keyId}`, undefined, asOps());

    assert.equal((await auditOf('merchant', merchantId)).length, 1);
    const keyRows = await auditOf('merchant_api_key', keyId);
    assert.deepEqual(
      keyRows.map((r) => [r.operator, r.action]),
      [
        ['ops', 'merchant_key.revoke'],
        ['ops', 'merchant_key.issue'],
      ],
    );
    assert.deepEqual(keyRows[0].before, { merchantId, revokedAt: null });
    assert.equal(keyRows[0].after.revokedAt, revoked.body.revokedAt);
    assert.equal(keyRows[1].before, null);
    assert.deepEqual(keyRows[1].after, { merchantId, id: keyId, prefix: issued.body.prefix });
  });

  it('issue 12: resolving a difference, a reconciliation run and a safety-net scan are each recorded once', async () => {
    const differenceId = newId('dif', Date.now(), Math.random);
    await system.database.db.insert(reconciliationDifferences).values({
      id: differenceId,
      channel: 'sandbox',
      day: '2025-06-01',
      kind: 'CHANNEL_ONLY',
      reference: `ref-${differenceId}`,
      evidence: {},
      resolution: 'OPS',
      action: 'look at it',
    });
    const resolved = await system.api(
      'POST',
      `/ops/reconciliation-differences/${differenceId}/resolve`,
      { note: 'refunded by hand' },
      bearer(alice.key),
    );
    assert.equal(resolved.status, 200, JSON.stringify(resolved.body));
    const resolveRows = await auditOf('reconciliation_difference', differenceId);
    assert.equal(resolveRows.length, 1);
    assert.equal(resolveRows[0].operator, 'alice');
    assert.equal(resolveRows[0].note, 'refunded by hand');
    assert.deepEqual(resolveRows[0].before, { resolution: 'OPS', note: null });
    assert.deepEqual(resolveRows[0].after, { resolution: 'RESOLVED', note: 'refunded by hand' });

    const run = await system.api(
      'POST',
      '/ops/reconciliations',
      { channel: 'sandbox', day: '2025-06-02' },
      asOps(),
    );
    assert.equal(run.status, 200, JSON.stringify(run.body));
    const rerun = await system.api(
      'POST',
      '/ops/reconciliations',
      { channel: 'sandbox', day: '2025-06-02' },
      asOps(),
    );
    assert.equal(rerun.status, 200, JSON.stringify(rerun.body));
    const runRows = await auditOf('reconciliation', 'sandbox:2025-06-02');
    assert.equal(runRows.length, 2);
    assert.equal(runRows[1].before, null);
    assert.equal(runRows[0].before.runs, 1);
    assert.equal(runRows[0].after.run, 2);

    const scan = await system.api('POST', '/ops/safety-net/scans', {}, bearer(alice.key));
    assert.equal(scan.status, 200, JSON.stringify(scan.body));
    const scanRows = await auditOf('safety_net_scan', 'all merchants');
    assert.equal(scanRows.length, 1);
    assert.equal(scanRows[0].operator, 'alice');
    assert.equal(scanRows[0].after.scannedAt, scan.body.scannedAt);
  });

  it('issue 12: GET /ops/audit filters by operator, action and subject, newest first, page by page', async () => {
    const byAlice = await system.api('GET', '/ops/audit?operator=alice', undefined, asOps());
    assert.equal(byAlice.status, 200);
    assert.deepEqual(
      byAlice.body.items.map((r: any) => r.action),
      ['safety_net.scan', 'reconciliation_difference.resolve', 'merchant.create'],
    );
    const revokes = await system.api(
      'GET',
      '/ops/audit?action=operator_key.revoke',
      undefined,
      asOps(),
    );
    assert.equal(revokes.body.items.length, 1);

    const all: any[] = [];
    let cursor: number | null = null;
    do {
      const page: any = await system.api(
        'GET',
        `/ops/audit?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        undefined,
        asOps(),
      );
      assert.equal(page.status, 200, JSON.stringify(page.body));
      assert.ok(page.body.items.length <= 2);
      all.push(...page.body.items);
      cursor = page.body.nextCursor;
    } while (cursor);
    const ids = all.map((r) => r.id);
    assert.deepEqual(
      ids,
      [...ids].sort((a, b) => b - a),
    );
    assert.equal(new Set(ids).size, ids.length);

    const bad = await system.api('GET', '/ops/audit?action=delete.everything', undefined, asOps());
    assert.equal(bad.status, 400);
    assert.match(JSON.stringify(bad.body), /action/);
    // Append-only: the table refuses to change a row.
    await assert.rejects(
      system.database.db.execute(sql`update audit_log set operator = 'mallory'`),
      (err: Error) => /append-only/.test(String(err.cause)),
    );
  });

  it('issue 12: clear-attention clears the flag through a running workflow, with an audit row', async () => {
    const id = await payOrderNeedingAttention();
    const cleared = await system.api(
      'POST',
      `/ops/pay-orders/${id}/clear-attention`,
      { note: 'the payer called; nothing was paid' },
      bearer(alice.key),
    );
    assert.equal(cleared.status, 200, JSON.stringify(cleared.body));
    assert.equal(cleared.body.writtenBy, 'WORKFLOW');
    await eventually(async () => !(await needsAttention(id)), { what: 'the flag cleared' });
    const view = await system.api('GET', `/v1/pay-orders/${id}`);
    assert.equal(view.body.needsAttention, false);
    const rows = await auditOf('pay_order', id);
    assert.equal(rows.length, 1);
    assert.equal(rows[0].operator, 'alice');
    assert.equal(rows[0].action, 'pay_order.clear_attention');
    assert.equal(rows[0].before.needsAttention, true);
    assert.equal(rows[0].after.needsAttention, false);
    assert.equal(rows[0].note, 'the payer called; nothing was paid');

    const missingNote = await system.api(
      'POST',
      `/ops/pay-orders/${id}/clear-attention`,
      {},
      asOps(),
    );
    assert.equal(missingNote.status, 400);
    assert.match(JSON.stringify(missingNote.body), /note/);
  });

  it('issue 12: clear-attention clears the flag of an order whose workflow has completed', async () => {
    const id = await payOrderNeedingAttention();
    await system.temporal.workflow.getHandle(id).terminate('test: the run is over');
    const cleared = await system.api(
      'POST',
      `/ops/pay-orders/${id}/clear-attention`,
      { note: 'checked at the channel by hand' },
      asOps(),
    );
    assert.equal(cleared.status, 200, JSON.stringify(cleared.body));
    assert.equal(cleared.body.writtenBy, 'OPERATOR');
    assert.equal(await needsAttention(id), false);
    const rows = await auditOf('pay_order', id);
    assert.equal(rows.length, 1);
    assert.equal(rows[0].operator, 'ops');
    // The row keeps why the order had been flagged (a signal without a code is FLAGGED).
    assert.deepEqual(rows[0].before, {
      needsAttention: true,
      code: 'FLAGGED',
      reason: 'test: please look',
    });
    // Asking again changes nothing and records nothing.
    const again = await system.api(
      'POST',
      `/ops/pay-orders/${id}/clear-attention`,
      { note: 'again' },
      asOps(),
    );
    assert.equal(again.body.cleared, false);
    assert.equal((await auditOf('pay_order', id)).length, 1);
  });
});
