// The inbox's hand-over queue: bounded in memory and in hand-overs under way, outcomes recorded
// many at a time, and nothing it refuses or fails taken from the books' care.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { createHandOverQueue } from '../../src/services/handOverQueue';

/** A hand-over the test finishes by hand. */
interface Pending {
  item: string;
  finish(outcome?: string): void;
  fail(err: Error): void;
}

function queueUnderTest(options: {
  limit: number;
  concurrency: number;
  batch: number;
  sameAs?: (item: string) => string;
}) {
  const underWay: Pending[] = [];
  const recorded: string[][] = [];
  const failed: string[] = [];
  let recordGate: Promise<void> = Promise.resolve();
  const queue = createHandOverQueue<string, string>({
    ...options,
    key: (item) => item,
    handOver: (item) =>
      new Promise<string>((resolve, reject) => {
        underWay.push({ item, finish: (outcome = 'SIGNALLED') => resolve(outcome), fail: reject });
      }),
    async record(done) {
      await recordGate;
      recorded.push(done.map((d) => `${d.item}:${d.outcome}`));
    },
    failed: (items) => failed.push(...items),
  });
  const settle = async (turns = 5) => {
    for (let i = 0; i < turns; i++) await nextTurn();
  };
  return {
    queue,
    underWay,
    recorded,
    failed,
    settle,
    holdRecords() {
      let release!: () => void;
      recordGate = new Promise((resolve) => (release = resolve));
      return release;
    },
  };
}

describe('the hand-over queue', () => {
  it('runs at most `concurrency` hand-overs at once, in arrival order', async () => {
    const t = queueUnderTest({ limit: 10, concurrency: 2, batch: 10 });
    for (const item of ['a', 'b', 'c', 'd']) assert.equal(t.queue.offer(item), true);
    await t.settle();
    assert.deepEqual(
      t.underWay.map((p) => p.item),
      ['a', 'b'],
    );
    t.underWay[0]!.finish();
    await t.settle();
    assert.deepEqual(
      t.underWay.map((p) => p.item),
      ['a', 'b', 'c'],
    );
  });

  it('refuses what it holds already and anything beyond its limit, and takes more once recorded', async () => {
    const t = queueUnderTest({ limit: 2, concurrency: 1, batch: 10 });
    assert.equal(t.queue.offer('a'), true);
    assert.equal(t.queue.offer('a'), false, 'held already');
    assert.equal(t.queue.offer('b'), true);
    assert.equal(t.queue.offer('c'), false, 'full: it stays in the books for the sweep');
    assert.equal(t.queue.size, 2);
    await t.settle();
    t.underWay[0]!.finish();
    await t.settle();
    assert.deepEqual(t.recorded, [['a:SIGNALLED']]);
    assert.equal(t.queue.offer('c'), true);
  });

  it('records the outcomes that finish while a record runs together, up to `batch` at a time', async () => {
    const t = queueUnderTest({ limit: 10, concurrency: 5, batch: 2 });
    const release = t.holdRecords();
    for (const item of ['a', 'b', 'c', 'd', 'e']) t.queue.offer(item);
    await t.settle();
    t.underWay[0]!.finish();
    await t.settle();
    for (const p of t.underWay.slice(1)) p.finish(p.item === 'c' ? 'WORKFLOW_ENDED' : undefined);
    await t.settle();
    release();
    await t.settle(20);
    assert.deepEqual(t.recorded, [
      ['a:SIGNALLED'],
      ['b:SIGNALLED', 'c:WORKFLOW_ENDED'],
      ['d:SIGNALLED', 'e:SIGNALLED'],
    ]);
    assert.equal(t.queue.size, 0);
  });

  it('lets a failed hand-over go, told, for the sweep to try again', async () => {
    const t = queueUnderTest({ limit: 10, concurrency: 2, batch: 10 });
    t.queue.offer('a');
    t.queue.offer('b');
    await t.settle();
    t.underWay[0]!.fail(new Error('Temporal unreachable'));
    t.underWay[1]!.finish();
    await t.settle(10);
    assert.deepEqual(t.failed, ['a']);
    assert.deepEqual(t.recorded, [['b:SIGNALLED']]);
    assert.equal(t.queue.size, 0);
  });

  it('lets a hand-over that throws at once go, told, like one that fails later', async () => {
    const failed: string[] = [];
    const queue = createHandOverQueue<string, string>({
      limit: 10,
      concurrency: 1,
      batch: 10,
      key: (item) => item,
      handOver: () => {
        throw new Error('no connection');
      },
      record: async () => {},
      failed: (items) => failed.push(...items),
    });
    queue.offer('a');
    queue.offer('b');
    for (let i = 0; i < 5; i++) await nextTurn();
    assert.deepEqual(failed, ['a', 'b'], 'the second still gets its turn');
    assert.equal(queue.size, 0, 'nothing held for ever');
  });

  it('hands over what a sweep brings beyond its limit, and answers once each has left', async () => {
    const t = queueUnderTest({ limit: 0, concurrency: 1, batch: 10 });
    assert.equal(t.queue.offer('a'), false);
    let swept: number | undefined;
    void t.queue.sweep(['a', 'b']).then((n) => (swept = n));
    await t.settle();
    t.underWay[0]!.finish();
    await t.settle();
    assert.equal(swept, undefined, 'b is still under way');
    t.underWay[1]!.finish();
    await t.settle(10);
    assert.equal(swept, 2);
    assert.deepEqual(t.recorded.flat(), ['a:SIGNALLED', 'b:SIGNALLED']);
  });

  it('stops after the hand-overs under way, leaving what waits in the books', async () => {
    const t = queueUnderTest({ limit: 10, concurrency: 1, batch: 10 });
    t.queue.offer('a');
    t.queue.offer('b');
    await t.settle();
    let stopped = false;
    void t.queue.stop().then(() => (stopped = true));
    await t.settle();
    assert.equal(stopped, false, 'a is under way');
    t.underWay[0]!.finish();
    await t.settle(10);
    assert.equal(stopped, true);
    assert.deepEqual(t.recorded, [['a:SIGNALLED']]);
    assert.deepEqual(
      t.underWay.map((p) => p.item),
      ['a'],
      'b was never started',
    );
    assert.equal(t.queue.offer('c'), false, 'a stopped queue takes nothing');
  });
});

describe('the hand-over queue with repeats', () => {
  // Items 'a1', 'a2', ... are the same as each other: the letter is what `sameAs` answers.
  const sameAs = (item: string) => item[0]!;

  it('hands over a repeat of one waiting or under way with it, and records both with its outcome', async () => {
    const t = queueUnderTest({ limit: 10, concurrency: 1, batch: 10, sameAs });
    t.queue.offer('a1');
    t.queue.offer('b1');
    await t.settle();
    t.queue.offer('a2'); // a1 under way
    t.queue.offer('b2'); // b1 waiting
    assert.equal(t.queue.size, 4, 'riders are held, within the limit');
    t.underWay[0]!.finish('SIGNALLED');
    await t.settle();
    t.underWay[1]!.finish('AFTER_COMPLETION');
    await t.settle(10);
    assert.deepEqual(
      t.underWay.map((p) => p.item),
      ['a1', 'b1'],
      'one hand-over each',
    );
    assert.deepEqual(t.recorded.flat(), [
      'a1:SIGNALLED',
      'a2:SIGNALLED',
      'b1:AFTER_COMPLETION',
      'b2:AFTER_COMPLETION',
    ]);
    assert.equal(t.queue.size, 0);
  });

  it('gives a repeat arriving after the hand-over ended one of its own', async () => {
    const t = queueUnderTest({ limit: 10, concurrency: 2, batch: 10, sameAs });
    t.queue.offer('a1');
    await t.settle();
    t.underWay[0]!.finish();
    await t.settle();
    t.queue.offer('a2');
    await t.settle();
    assert.deepEqual(
      t.underWay.map((p) => p.item),
      ['a1', 'a2'],
    );
  });

  it('lets the riders of a failed hand-over go with it, for the sweep', async () => {
    const t = queueUnderTest({ limit: 10, concurrency: 1, batch: 10, sameAs });
    t.queue.offer('a1');
    await t.settle();
    t.queue.offer('a2');
    t.underWay[0]!.fail(new Error('Temporal is down'));
    await t.settle();
    assert.deepEqual(t.failed, ['a1', 'a2']);
    assert.deepEqual(t.recorded, []);
    assert.equal(t.queue.size, 0);
    assert.equal(t.queue.offer('a3'), true);
    await t.settle();
    assert.equal(t.underWay.at(-1)!.item, 'a3', 'a fresh hand-over, not a ride on the failed one');
  });

  it('leaves the riders of a waiting item in the books when it stops', async () => {
    const t = queueUnderTest({ limit: 10, concurrency: 1, batch: 10, sameAs });
    t.queue.offer('a1');
    t.queue.offer('b1');
    await t.settle();
    t.queue.offer('b2');
    t.queue.offer('a2');
    void t.queue.stop();
    t.underWay[0]!.finish();
    await t.settle(10);
    assert.deepEqual(t.recorded.flat(), ['a1:SIGNALLED', 'a2:SIGNALLED']);
    assert.equal(t.queue.size, 0, 'b1 and b2 are left to the sweep');
  });
});
