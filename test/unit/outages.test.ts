// Which failures are outages (503 with Retry-After) and which are not: read off the real errors
// of the Temporal client and the PostgreSQL driver when their server cannot be reached.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ApplicationFailure,
  Client,
  Connection,
  ServiceError,
  WorkflowUpdateFailedError,
} from '@temporalio/client';
import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { outageOf } from '../../src/api/outages';
import { DomainError } from '../../src/domain/errors';
import { OrderBusyError } from '../../src/services/orderTurns';
import { handOver } from '../../src/workflows/contracts/payment';
import { freePort } from '../support/ports';

async function failureOf(call: () => Promise<unknown>): Promise<unknown> {
  return call().then(
    () => assert.fail('the call should have failed'),
    (err: unknown) => err,
  );
}

describe('outageOf', () => {
  it('calls an unreachable Temporal server an outage of the workflow service', async () => {
    const port = await freePort();
    const connection = Connection.lazy({ address: `127.0.0.1:${port}`, connectTimeout: 1_000 });
    const err = await failureOf(() =>
      new Client({ connection }).workflow.getHandle('po_x').describe(),
    );
    assert.deepEqual(outageOf(err)?.code, 'TEMPORARILY_UNAVAILABLE');
    assert.match(outageOf(err)!.detail, /workflow service/);
  });

  it('calls an unreachable database an outage, through the ORM’s wrapping', async () => {
    const port = await freePort();
    const client = postgres(`postgres://postgres@127.0.0.1:${port}/paycenter`, { max: 1 });
    try {
      const err = await failureOf(() => drizzle(client).execute(sql`select 1`));
      assert.deepEqual(outageOf(err), {
        code: 'TEMPORARILY_UNAVAILABLE',
        detail: 'the database is unavailable',
      });
    } finally {
      await client.end();
    }
  });

  it('calls a pay order still moving to a new run (after every retry) still processing', () => {
    const refused = new WorkflowUpdateFailedError(
      'Workflow Update failed',
      ApplicationFailure.nonRetryable('the pay order moves to a new run; try again', handOver),
    );
    assert.equal(outageOf(refused)?.code, 'STILL_PROCESSING');
    const closed = new WorkflowUpdateFailedError(
      'Workflow Update failed',
      ApplicationFailure.nonRetryable('the pay order is already closed', 'ORDER_CLOSED'),
    );
    assert.equal(outageOf(closed), undefined);
  });

  it('calls an Update refused while a dead worker’s workflow task is retried still processing', () => {
    const grpcError = (code: number, details: string) =>
      Object.assign(new Error(`${code} ${details}`), { code, details, metadata: {} });
    const refused = new ServiceError('Workflow Update failed', {
      cause: grpcError(
        9,
        'Unable to perform workflow execution update due to Workflow Task in failed state.',
      ),
    });
    assert.equal(outageOf(refused)?.code, 'STILL_PROCESSING');
    // The same refusal as the SDK's native connection gives it: the text in the message.
    const native = new ServiceError('Workflow Update failed', {
      cause: Object.assign(
        new Error(
          'Unable to perform workflow execution update due to Workflow Task in failed state.',
        ),
        { code: 9, details: '', metadata: {} },
      ),
    });
    assert.equal(outageOf(native)?.code, 'STILL_PROCESSING');
    const other = new ServiceError('Workflow Update failed', {
      cause: grpcError(9, 'some other precondition'),
    });
    assert.equal(outageOf(other), undefined);
  });

  it('calls a pay order too busy for one more request an outage that says so', () => {
    const assertBusy = (err: unknown) => {
      const outage = outageOf(err);
      assert.equal(outage?.code, 'TEMPORARILY_UNAVAILABLE');
      assert.match(outage?.detail ?? '', /pay order is busy/);
    };
    assertBusy(new OrderBusyError('po_1'));
    // Temporal's own refusal of one Update too many on the workflow, as the native client has it.
    const nativeRefusal = (message: string) =>
      new ServiceError('Workflow Update failed', {
        cause: Object.assign(new Error(message), { code: 8, details: '', metadata: {} }),
      });
    assertBusy(
      nativeRefusal('limit on number of concurrent in-flight updates has been reached (10)'),
    );
    assert.match(
      outageOf(nativeRefusal('namespace rate limit exceeded'))?.detail ?? '',
      /workflow service/,
    );
  });

  it('leaves a refused request, a bug and a query error alone', async () => {
    assert.equal(outageOf(new DomainError('ORDER_CLOSED', 'closed')), undefined);
    assert.equal(outageOf(new TypeError('undefined is not a function')), undefined);
    const client = postgres(
      process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
      { max: 1 },
    );
    try {
      const err = await failureOf(() => drizzle(client).execute(sql`select * from no_such_table`));
      assert.equal(outageOf(err), undefined);
    } finally {
      await client.end();
    }
  });
});
