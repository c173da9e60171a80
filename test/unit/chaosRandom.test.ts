// The chaos harness's seeded random source: a seed replays the same run, and each order's stream
// is its own, so that one order drawing more never shifts what the others draw.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seededRandom } from '../../chaos/random';

const draws = (seed: number, label?: string) => {
  const random = label ? seededRandom(seed).fork(label) : seededRandom(seed);
  return Array.from({ length: 20 }, () => random.int(0, 1_000_000));
};

describe('chaos seeded random', () => {
  it('draws the same numbers for the same seed, and others for another seed', () => {
    assert.deepEqual(draws(42), draws(42));
    assert.notDeepEqual(draws(42), draws(43));
  });

  it("gives each order its own stream: order 2's draws do not depend on order 1's", () => {
    const root = seededRandom(7);
    const first = root.fork('order:1');
    for (let i = 0; i < 100; i++) first.next();
    root.next();
    const second = root.fork('order:2');
    assert.deepEqual(
      Array.from({ length: 20 }, () => second.int(0, 1_000_000)),
      draws(7, 'order:2'),
    );
    assert.notDeepEqual(draws(7, 'order:1'), draws(7, 'order:2'));
  });

  it('keeps within bounds and never picks a kind of weight zero', () => {
    const random = seededRandom(1);
    for (let i = 0; i < 2000; i++) {
      const n = random.int(3, 5);
      assert.ok(n >= 3 && n <= 5);
      assert.notEqual(random.weighted({ never: 0, often: 5, sometimes: 1 }), 'never');
    }
  });
});
