// Requests of one pay order take turns: a few at a time, the rest in arrival order, each queued
// request only until its deadline; other orders never wait on this one.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createOrderTurns, OrderBusyError } from '../../src/services/orderTurns';

/** A piece of work that runs until the test lets it finish. */
function heldWork() {
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  return { finish, run: () => finished };
}

const farAway = () => Date.now() + 60_000;
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('order turns', () => {
  it('lets two requests of an order run at once; the others start in arrival order as turns free', async () => {
    const turns = createOrderTurns(2);
    const started: Array<[number, boolean]> = [];
    const works = Array.from({ length: 5 }, () => heldWork());
    const answers = works.map((work, i) =>
      turns.inTurn('po_1', farAway(), async (waited) => {
        started.push([i, waited]);
        await work.run();
        return i;
      }),
    );
    await settle();
    assert.deepEqual(started, [
      [0, false],
      [1, false],
    ]);
    assert.deepEqual(turns.load(), { orders: 1, waiting: 3 });

    works[1]!.finish();
    await settle();
    assert.deepEqual(started.slice(2), [[2, true]]);
    works[0]!.finish();
    works[2]!.finish();
    await settle();
    assert.deepEqual(started.slice(3), [
      [3, true],
      [4, true],
    ]);
    works[3]!.finish();
    works[4]!.finish();
    assert.deepEqual(await Promise.all(answers), [0, 1, 2, 3, 4]);
    assert.deepEqual(turns.load(), { orders: 0, waiting: 0 }, 'an idle order is forgotten');
  });

  it('never makes one order wait on another', async () => {
    const turns = createOrderTurns(1);
    const held = heldWork();
    const first = turns.inTurn('po_1', farAway(), held.run);
    let otherWaited: boolean | undefined;
    await turns.inTurn('po_2', farAway(), async (waited) => {
      otherWaited = waited;
    });
    assert.equal(otherWaited, false);
    held.finish();
    await first;
  });

  it('fails a request still queued a second before its deadline; the turn goes to the next one', async () => {
    const turns = createOrderTurns(1);
    const held = heldWork();
    const first = turns.inTurn('po_1', farAway(), held.run);
    const queuedAt = Date.now();
    const late = turns.inTurn('po_1', queuedAt + 1_050, async () => 'ran');
    const patient = turns.inTurn('po_1', farAway(), async (waited) => waited);
    await assert.rejects(late, (err: unknown) => {
      assert.ok(err instanceof OrderBusyError);
      assert.match(err.message, /po_1 is busy/);
      return true;
    });
    assert.ok(Date.now() - queuedAt < 1_000, 'it gives up a second before its deadline');
    assert.deepEqual(turns.load(), { orders: 1, waiting: 1 });
    held.finish();
    await first;
    assert.equal(await patient, true);
    assert.deepEqual(turns.load(), { orders: 0, waiting: 0 });
  });

  it('gives the turn back when the work fails', async () => {
    const turns = createOrderTurns(1);
    await assert.rejects(
      turns.inTurn('po_1', farAway(), async () => {
        throw new Error('refused');
      }),
      /refused/,
    );
    assert.equal(await turns.inTurn('po_1', farAway(), async (waited) => waited), false);
    assert.deepEqual(turns.load(), { orders: 0, waiting: 0 });
  });
});
