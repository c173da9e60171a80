// How paycenter reaches a real Temporal cluster: mutual TLS from PEM files, TLS with an API key
// (Temporal Cloud), and every bad or contradictory setting refused at start, naming the variable.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config';
import {
  describeTemporalSecurity,
  isLoopbackAddress,
  readTemporalSecurity,
  temporalConnectionOptions,
  type TemporalSecuritySettings,
} from '../../src/temporalConnection';
import { makeTestCertificates, type TestCertificates } from '../support/tlsCertificates';

let certs: TestCertificates;
before(() => {
  certs = makeTestCertificates('temporal.paycenter.test');
});
after(() => certs?.remove());

const mutualTls = () => ({
  TEMPORAL_TLS_SERVER_CA_CERT_PATH: certs.ca,
  TEMPORAL_TLS_CLIENT_CERT_PATH: certs.client.cert,
  TEMPORAL_TLS_CLIENT_KEY_PATH: certs.client.key,
  TEMPORAL_TLS_SERVER_NAME: 'temporal.paycenter.test',
});

/** The one problem the settings have; fails when they have none or several. */
function problemOf(settings: TemporalSecuritySettings, now?: Date): string {
  const { problems } = readTemporalSecurity(settings, undefined, now);
  assert.equal(problems.length, 1, JSON.stringify(problems));
  return problems[0]!;
}

describe('connection options for Temporal', () => {
  it('are the address alone when nothing asks for TLS (the dev server, a loopback cluster)', () => {
    const { security, problems } = readTemporalSecurity({});
    assert.deepEqual(problems, []);
    assert.deepEqual(temporalConnectionOptions('127.0.0.1:7233', security), {
      address: '127.0.0.1:7233',
    });
    assert.equal(describeTemporalSecurity(security), 'plaintext, no TLS');
  });

  it('carry the CA, the client certificate pair and the server name for mutual TLS', () => {
    const { security, problems } = readTemporalSecurity(mutualTls());
    assert.deepEqual(problems, []);
    const options = temporalConnectionOptions('10.0.0.5:7233', security);
    assert.equal(options.address, '10.0.0.5:7233');
    assert.deepEqual(options.tls?.serverRootCACertificate, readFileSync(certs.ca));
    assert.deepEqual(options.tls?.clientCertPair?.crt, readFileSync(certs.client.cert));
    assert.deepEqual(options.tls?.clientCertPair?.key, readFileSync(certs.client.key));
    assert.equal(options.tls?.serverNameOverride, 'temporal.paycenter.test');
    assert.equal('apiKey' in options, false);
    const line = describeTemporalSecurity(security);
    assert.match(line, /^mutual TLS as CN=paycenter-worker \(certificate valid to 20\d\d-/);
    assert.match(line, /server name temporal\.paycenter\.test/);
    assert.doesNotMatch(line, /PRIVATE KEY/);
  });

  it('use TLS with the system trusted CAs for TEMPORAL_TLS=true alone', () => {
    const { security } = readTemporalSecurity({ TEMPORAL_TLS: true });
    assert.deepEqual(temporalConnectionOptions('a.tmprl.cloud:7233', security), {
      address: 'a.tmprl.cloud:7233',
      tls: {},
    });
    assert.equal(describeTemporalSecurity(security), "TLS, the system's trusted CAs");
  });

  it('send an API key over TLS (Temporal Cloud), and never say the key in the start-up line', () => {
    const { security } = readTemporalSecurity({ TEMPORAL_API_KEY: 'tmprl_key.secret-part' });
    const options = temporalConnectionOptions('ns.acct.tmprl.cloud:7233', security);
    assert.deepEqual(options, {
      address: 'ns.acct.tmprl.cloud:7233',
      tls: {},
      apiKey: 'tmprl_key.secret-part',
    });
    const line = describeTemporalSecurity(security);
    assert.equal(line, "TLS, the system's trusted CAs, API key");
    assert.doesNotMatch(line, /secret-part/);
  });

  it('read the API key from a mounted secret file, without its trailing line break', () => {
    const file = path.join(certs.dir, 'api-key');
    writeFileSync(file, 'tmprl_from_file\n');
    const { security, problems } = readTemporalSecurity({ TEMPORAL_API_KEY_FILE: file });
    assert.deepEqual(problems, []);
    assert.equal(security.apiKey, 'tmprl_from_file');
  });
});

describe('bad Temporal connection settings are refused, naming the variable', () => {
  it('a client certificate without its key, or a key without its certificate', () => {
    const { TEMPORAL_TLS_CLIENT_KEY_PATH: _key, ...certOnly } = mutualTls();
    assert.match(
      problemOf(certOnly),
      /TEMPORAL_TLS_CLIENT_CERT_PATH is set without TEMPORAL_TLS_CLIENT_KEY_PATH/,
    );
    const { TEMPORAL_TLS_CLIENT_CERT_PATH: _cert, ...keyOnly } = mutualTls();
    assert.match(
      problemOf(keyOnly),
      /TEMPORAL_TLS_CLIENT_KEY_PATH is set without TEMPORAL_TLS_CLIENT_CERT_PATH/,
    );
  });

  it('a file that cannot be read', () => {
    const missing = path.join(certs.dir, 'no-such-ca.pem');
    assert.equal(
      problemOf({ TEMPORAL_TLS_SERVER_CA_CERT_PATH: missing }),
      `TEMPORAL_TLS_SERVER_CA_CERT_PATH: cannot read ${missing} (ENOENT)`,
    );
  });

  it('a CA or client certificate file that holds no PEM certificate (a key given by mistake)', () => {
    assert.match(
      problemOf({ ...mutualTls(), TEMPORAL_TLS_SERVER_CA_CERT_PATH: certs.client.key }),
      /^TEMPORAL_TLS_SERVER_CA_CERT_PATH: .* holds no PEM certificate/,
    );
    const garbled = path.join(certs.dir, 'garbled.pem');
    writeFileSync(
      garbled,
      '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n',
    );
    assert.match(
      problemOf({ ...mutualTls(), TEMPORAL_TLS_CLIENT_CERT_PATH: garbled }),
      /^TEMPORAL_TLS_CLIENT_CERT_PATH: .* holds a certificate that does not parse/,
    );
  });

  it('a key file that holds no key, or the key of another certificate', () => {
    assert.match(
      problemOf({ ...mutualTls(), TEMPORAL_TLS_CLIENT_KEY_PATH: certs.client.cert }),
      /^TEMPORAL_TLS_CLIENT_KEY_PATH: .* holds no unencrypted PEM private key/,
    );
    assert.match(
      problemOf({ ...mutualTls(), TEMPORAL_TLS_CLIENT_KEY_PATH: certs.otherClient.key }),
      /^TEMPORAL_TLS_CLIENT_KEY_PATH: the key in .* does not belong to the certificate in .*paycenter-worker\.pem$/,
    );
  });

  it('a client certificate that is expired (or not valid yet)', () => {
    const inThreeDays = new Date(Date.now() + 3 * 24 * 3600_000);
    assert.match(
      problemOf(mutualTls(), inThreeDays),
      /^TEMPORAL_TLS_CLIENT_CERT_PATH: the certificate in .* is valid only from .* to /,
    );
  });

  it('TLS switched off while TLS files or an API key are set', () => {
    assert.equal(
      problemOf({ TEMPORAL_TLS: false, TEMPORAL_TLS_SERVER_NAME: 'temporal.paycenter.test' }),
      'TEMPORAL_TLS is false but TEMPORAL_TLS_SERVER_NAME set TLS up',
    );
    assert.equal(
      problemOf({ TEMPORAL_TLS: false, TEMPORAL_API_KEY: 'tmprl_key' }),
      'TEMPORAL_TLS is false: an API key is never sent over plaintext',
    );
  });

  it('two API keys, an empty one, or one a header cannot carry', () => {
    const file = path.join(certs.dir, 'api-key-two-lines');
    writeFileSync(file, 'tmprl_one\ntmprl_two\n');
    assert.match(
      problemOf({ TEMPORAL_API_KEY: 'a', TEMPORAL_API_KEY_FILE: file }),
      /TEMPORAL_API_KEY and TEMPORAL_API_KEY_FILE are both set/,
    );
    assert.match(
      problemOf({ TEMPORAL_API_KEY_FILE: file }),
      /^TEMPORAL_API_KEY_FILE: .*line breaks/,
    );
    const empty = path.join(certs.dir, 'api-key-empty');
    writeFileSync(empty, '\n');
    assert.equal(
      problemOf({ TEMPORAL_API_KEY_FILE: empty }),
      'TEMPORAL_API_KEY_FILE: the API key is empty',
    );
  });

  it('a server name that is not a host name (a URL given by mistake)', () => {
    assert.match(
      problemOf({ TEMPORAL_TLS_SERVER_NAME: 'https://temporal.paycenter.test' }),
      /TEMPORAL_TLS_SERVER_NAME "https:\/\/temporal.paycenter.test" is not a host name/,
    );
  });
});

describe('loading the configuration', () => {
  const live = {
    PAYCENTER_MODE: 'live',
    PAYCENTER_SECRET_KEY: 'b'.repeat(64),
    CASHIER_TOKEN_SECRET: 'c'.repeat(32),
    PUBLIC_API_URL: 'https://pay.example.com',
    DATABASE_URL: 'postgres://paycenter@db.internal/paycenter_live',
    BANKCARD_MER_ID: '898000000000001',
    BANKCARD_SIGN_PRIVATE_KEY: 'pem',
    BANKCARD_SIGN_CERT_ID: '1',
    BANKCARD_VERIFY_PUBLIC_KEY: 'pem',
    BANKCARD_VERIFY_CERT_ID: '2',
  };

  it('reads the TLS files at start: a bad one stops it with a ConfigError', () => {
    const config = loadConfig({ TEMPORAL_ADDRESS: '10.0.0.5:7233', ...mutualTls() });
    assert.deepEqual(
      config.temporalSecurity.tls?.clientCertPair?.crt,
      readFileSync(certs.client.cert),
    );
    assert.throws(
      () =>
        loadConfig({
          TEMPORAL_ADDRESS: '10.0.0.5:7233',
          ...mutualTls(),
          TEMPORAL_TLS_CLIENT_KEY_PATH: certs.otherClient.key,
        }),
      (err: unknown) =>
        err instanceof ConfigError && /TEMPORAL_TLS_CLIENT_KEY_PATH: the key in/.test(err.message),
    );
    assert.throws(
      () => loadConfig({ TEMPORAL_ADDRESS: '10.0.0.5:7233', TEMPORAL_TLS: 'yes' }),
      /TEMPORAL_TLS: must be true or false/,
    );
  });

  it('refuses TLS settings without TEMPORAL_ADDRESS: the local dev server is plaintext', () => {
    assert.throws(
      () => loadConfig({ TEMPORAL_API_KEY: 'tmprl_key' }),
      /TEMPORAL_API_KEY set how TEMPORAL_ADDRESS is reached, but it is unset/,
    );
  });

  it('in live mode refuses plaintext to a cluster off this machine, unless TEMPORAL_TLS=false says so', () => {
    assert.throws(
      () => loadConfig({ ...live, TEMPORAL_ADDRESS: 'temporal.internal:7233' }),
      /Live mode refuses to start:[\s\S]*TEMPORAL_ADDRESS temporal.internal:7233 would be reached over plaintext/,
    );
    const meshed = loadConfig({
      ...live,
      TEMPORAL_ADDRESS: 'temporal.internal:7233',
      TEMPORAL_TLS: 'false',
    });
    assert.equal(meshed.temporalSecurity.tls, undefined);
    const local = loadConfig({ ...live, TEMPORAL_ADDRESS: '127.0.0.1:7233' });
    assert.equal(local.temporalSecurity.tls, undefined);
    const tls = loadConfig({ ...live, TEMPORAL_ADDRESS: 'temporal.internal:7233', ...mutualTls() });
    assert.ok(tls.temporalSecurity.tls?.clientCertPair);
  });

  it('knows which addresses are this machine', () => {
    for (const address of ['127.0.0.1:7233', 'localhost:7233', '[::1]:7233', '127.0.0.53']) {
      assert.equal(isLoopbackAddress(address), true, address);
    }
    for (const address of [
      '10.0.0.5:7233',
      'temporal:7233',
      'localhost.evil.com:7233',
      '[::2]:7233',
    ]) {
      assert.equal(isLoopbackAddress(address), false, address);
    }
  });
});
