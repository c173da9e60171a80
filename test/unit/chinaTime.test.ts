import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  formatChinaDateTime,
  formatChinaRfc3339,
  parseChinaDateTime,
} from '../../src/channels/chinaTime';
import { businessDayOf } from '../../src/domain/businessDay';

describe('Beijing time formats', () => {
  const instant = new Date('2026-11-25T16:30:05.900Z');

  it('formats an instant as the channels write it', () => {
    assert.equal(formatChinaDateTime(instant), '2026-11-26 00:30:05');
    assert.equal(formatChinaRfc3339(instant), '2026-11-26T00:30:05+08:00');
    assert.equal(businessDayOf(instant), '2026-11-26');
  });

  it('parses it back to the same second', () => {
    assert.equal(
      parseChinaDateTime('2026-11-26 00:30:05').toISOString(),
      '2026-11-25T16:30:05.000Z',
    );
    assert.throws(() => parseChinaDateTime('2026-11-26T00:30:05'), RangeError);
  });
});
