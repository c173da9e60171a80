// The bench's reading of Linux's pressure stall information: the totals of /proc/pressure's lines
// and the stalls between two readings as shares of the load's wall time.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pressureBetween, stallTotal } from '../../bench/pressure';

const ioFile = [
  'some avg10=13.37 avg60=9.71 avg300=2.92 total=10556851',
  'full avg10=0.80 avg60=0.84 avg300=0.48 total=2780008',
  '',
].join('\n');

describe('bench pressure', () => {
  it('reads the cumulative microseconds of the some and full lines', () => {
    assert.equal(stallTotal(ioFile, 'some'), 10_556_851);
    assert.equal(stallTotal(ioFile, 'full'), 2_780_008);
  });

  it('answers undefined for a file without the line', () => {
    assert.equal(stallTotal('some avg10=1.00 avg60=0.00 avg300=0.00 total=5\n', 'full'), undefined);
    assert.equal(stallTotal('', 'some'), undefined);
  });

  it('gives each stall as a percentage of the wall time between the readings', () => {
    const before = { cpuSomeUs: 1_000_000, ioSomeUs: 500_000, ioFullUs: 100_000 };
    const after = { cpuSomeUs: 7_000_000, ioSomeUs: 1_500_000, ioFullUs: 133_333 };
    // 10 s of wall time: 6 s, 1 s and 33.3 ms stalled.
    assert.deepEqual(pressureBetween(before, after, 10_000), {
      cpuSome: 60,
      ioSome: 10,
      ioFull: 0.3,
    });
  });
});
