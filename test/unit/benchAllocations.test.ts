// The bench's allocation summary: a sampled heap profile summed by package and by function.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { packageOf, sumAllocations } from '../../bench/allocations';

const node = (functionName: string, url: string, selfSize: number, children: any[] = []) => ({
  callFrame: { functionName, url, lineNumber: 9 },
  selfSize,
  children,
});

describe('bench allocation summary', () => {
  it('names the package of a script, scoped ones included, and the project file of its own', () => {
    assert.equal(packageOf('file:///w/node_modules/pino/lib/proto.js'), 'pino');
    assert.equal(packageOf('file:///w/node_modules/@pinojs/redact/index.js'), '@pinojs/redact');
    assert.equal(
      packageOf('file:///w/node_modules/a/node_modules/@temporalio/client/lib/x.js'),
      '@temporalio/client',
    );
    assert.equal(packageOf('node:internal/http'), 'node');
    assert.equal(packageOf('file:///w/main/src/services/inbox.ts'), 'src/services/inbox.ts');
    assert.equal(packageOf(''), '(native)');
  });

  it('sums self sizes over the whole tree, by function and by package, largest first', () => {
    const head = node('(root)', '', 0, [
      node('write', 'file:///w/node_modules/postgres/src/connection.js', 300, [
        node('str', 'file:///w/node_modules/postgres/src/bytes.js', 500),
      ]),
      node('receive', 'file:///w/src/services/inbox.ts', 100, [
        node('write', 'file:///w/node_modules/postgres/src/connection.js', 200),
      ]),
    ]);
    const { total, byFunction, byPackage } = sumAllocations(head);
    assert.equal(total, 1100);
    assert.deepEqual(byPackage, [
      ['postgres', 1000],
      ['src/services/inbox.ts', 100],
    ]);
    assert.deepEqual(byFunction[0], ['write postgres:10', 500]);
    assert.equal(byFunction.length, 3);
  });
});
