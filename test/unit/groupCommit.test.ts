// Group commit: a write alone goes at once; writes arriving while the statements are under way go
// together, at most a batch per statement; a failed group is retried one by one so only the bad
// item's caller fails.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { createGroupCommit } from '../../src/services/groupCommit';

/** A statement the test commits or fails by hand. */
interface Statement {
  items: string[];
  commit(): void;
  fail(err: Error): void;
}

function groupCommitUnderTest(options: { concurrency: number; batch: number }) {
  const statements: Statement[] = [];
  const commit = createGroupCommit<string, string>({
    ...options,
    write: (items) =>
      new Promise<string[]>((resolve, reject) => {
        statements.push({
          items,
          commit: () => resolve(items.map((item) => `stored ${item}`)),
          fail: reject,
        });
      }),
  });
  const settle = async () => {
    for (let i = 0; i < 5; i++) await nextTurn();
  };
  return { commit, statements, settle };
}

describe('group commit', () => {
  it('writes a lone item at once, in a statement of its own', async () => {
    const t = groupCommitUnderTest({ concurrency: 2, batch: 10 });
    const result = t.commit.write('a');
    assert.deepEqual(
      t.statements.map((s) => s.items),
      [['a']],
    );
    t.statements[0]!.commit();
    assert.equal(await result, 'stored a');
  });

  it('groups the items that arrive while the statements are under way, a batch at most', async () => {
    const t = groupCommitUnderTest({ concurrency: 1, batch: 3 });
    const results = ['a', 'b', 'c', 'd', 'e', 'f'].map((item) => t.commit.write(item));
    assert.deepEqual(
      t.statements.map((s) => s.items),
      [['a']],
    );
    t.statements[0]!.commit();
    await t.settle();
    assert.deepEqual(
      t.statements.map((s) => s.items),
      [['a'], ['b', 'c', 'd']],
      'one statement under way at a time, the next takes a batch of those waiting',
    );
    t.statements[1]!.commit();
    await t.settle();
    t.statements[2]!.commit();
    assert.deepEqual(
      await Promise.all(results),
      ['a', 'b', 'c', 'd', 'e', 'f'].map((i) => `stored ${i}`),
    );
    assert.deepEqual(
      t.statements.map((s) => s.items),
      [['a'], ['b', 'c', 'd'], ['e', 'f']],
    );
  });

  it('retries a failed group item by item, so only the bad item fails its caller', async () => {
    const t = groupCommitUnderTest({ concurrency: 1, batch: 10 });
    const results = ['a', 'b', 'bad', 'c'].map((item) =>
      t.commit.write(item).then(
        (stored) => stored,
        (err: Error) => `failed: ${err.message}`,
      ),
    );
    t.statements[0]!.commit();
    await t.settle();
    t.statements[1]!.fail(new Error('invalid byte sequence'));
    for (const item of ['b', 'bad', 'c']) {
      await t.settle();
      const alone = t.statements.at(-1)!;
      assert.deepEqual(alone.items, [item]);
      if (item === 'bad') alone.fail(new Error('invalid byte sequence'));
      else alone.commit();
    }
    assert.deepEqual(await Promise.all(results), [
      'stored a',
      'stored b',
      'failed: invalid byte sequence',
      'stored c',
    ]);
  });

  it('keeps as many statements under way as allowed and no more', async () => {
    const t = groupCommitUnderTest({ concurrency: 2, batch: 10 });
    for (const item of ['a', 'b', 'c', 'd']) void t.commit.write(item);
    assert.deepEqual(
      t.statements.map((s) => s.items),
      [['a'], ['b']],
    );
    t.statements[1]!.commit();
    await t.settle();
    assert.deepEqual(t.statements[2]!.items, ['c', 'd']);
    assert.equal(t.statements.length, 3);
  });
});
