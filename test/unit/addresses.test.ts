// Issue 12: which addresses a merchant URL may lead to (src/domain/addresses.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  allowListHost,
  isPublicAddress,
  judgeHost,
  parseIpAddress,
} from '../../src/domain/addresses';

const internal = [
  '0.0.0.0',
  '0.1.2.3',
  '10.0.0.1',
  '10.255.255.255',
  '100.64.0.1',
  '100.100.100.200',
  '100.127.255.255',
  '127.0.0.1',
  '127.255.255.254',
  '169.254.0.1',
  '169.254.169.254',
  '172.16.0.1',
  '172.31.255.255',
  '192.0.0.8',
  '192.0.2.1',
  '192.168.0.1',
  '192.168.255.255',
  '198.18.0.1',
  '198.51.100.7',
  '203.0.113.9',
  '224.0.0.1',
  '239.255.255.250',
  '240.0.0.1',
  '255.255.255.255',
  '::',
  '::1',
  '0:0:0:0:0:0:0:1',
  '::ffff:127.0.0.1',
  '::ffff:7f00:1',
  '::ffff:10.0.0.1',
  '::ffff:169.254.169.254',
  '::127.0.0.1',
  '::7f00:1',
  '64:ff9b::a00:1',
  '2002:a00:1::',
  'fe80::1',
  'fe80::1%eth0',
  'febf:ffff::1',
  'fc00::1',
  'fd12:3456:789a::1',
  'ff02::1',
  'ff05::2',
  '2001:db8::1',
  '2001::1',
  '100::1',
];

const publicAddresses = [
  '1.1.1.1',
  '8.8.8.8',
  '93.184.216.34',
  '100.63.255.255',
  '100.128.0.0',
  '172.15.255.255',
  '172.32.0.0',
  '169.253.255.255',
  '192.169.0.1',
  '223.255.255.255',
  '2606:4700:4700::1111',
  '2400:3200::1',
  '::ffff:8.8.8.8',
  '64:ff9b::808:808',
  '2002:808:808::1',
];

describe('public addresses (issue 12: notify URL safety)', () => {
  for (const ip of internal) {
    it(`issue 12: ${ip} is not public`, () => assert.equal(isPublicAddress(ip), false));
  }
  for (const ip of publicAddresses) {
    it(`issue 12: ${ip} is public`, () => assert.equal(isPublicAddress(ip), true));
  }

  it('issue 12: text that is no address is never public', () => {
    for (const text of ['', 'example.com', '0x7f.1', '127.1', '2130706433', '1.2.3.256', '1:2:3']) {
      assert.equal(isPublicAddress(text), false, text);
    }
    for (const text of ['1::2::3', '1:2:3:4:5:6:7:8:9', 'g::1', '::1.2.3', '01.2.3.4']) {
      assert.equal(parseIpAddress(text), undefined, text);
    }
  });

  it('parses IPv6 with a compressed middle and an embedded IPv4 address', () => {
    assert.deepEqual(parseIpAddress('1:2::7:8'), [0, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7, 0, 8]);
    assert.deepEqual(
      parseIpAddress('::ffff:1.2.3.4'),
      [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4],
    );
  });
});

describe('merchant URL hosts (issue 12: notify URL safety)', () => {
  const host = (url: string) => new URL(url).hostname;

  it('issue 12: odd IPv4 spellings are judged as the address the URL parser makes of them', () => {
    for (const url of ['http://0x7f.1', 'http://2130706433', 'http://127.1', 'http://0177.0.0.1']) {
      assert.equal(judgeHost(host(url), []).kind, 'refused', url);
    }
  });

  it('issue 12: IPv6 literals, mapped forms included, are refused unless public', () => {
    assert.equal(judgeHost(host('http://[::ffff:127.0.0.1]'), []).kind, 'refused');
    assert.equal(judgeHost(host('http://[::1]:8080'), []).kind, 'refused');
    assert.equal(judgeHost(host('http://[2606:4700:4700::1111]'), []).kind, 'allowed');
  });

  it('issue 12: localhost names are refused without resolving; other names must be resolved', () => {
    assert.equal(judgeHost('localhost', []).kind, 'refused');
    assert.equal(judgeHost('api.localhost.', []).kind, 'refused');
    assert.deepEqual(judgeHost('Merchant.Example.', []), {
      kind: 'name',
      name: 'merchant.example',
    });
  });

  it('issue 12: an allow-listed host is allowed, however it is spelt', () => {
    const allowed = ['localhost', '127.0.0.1', '::1'].map((e) => allowListHost(e)!);
    assert.deepEqual(allowed, ['localhost', '127.0.0.1', '::1']);
    assert.equal(judgeHost(host('http://LOCALHOST:3000'), allowed).kind, 'allowed');
    assert.equal(judgeHost(host('http://127.1'), allowed).kind, 'allowed');
    assert.equal(judgeHost(host('http://[::1]'), allowed).kind, 'allowed');
    assert.equal(judgeHost(host('http://10.0.0.1'), allowed).kind, 'refused');
    assert.equal(allowListHost('not a host'), undefined);
  });
});
