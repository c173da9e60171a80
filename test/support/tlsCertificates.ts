// Throwaway certificates made with openssl for tests of TLS to Temporal: a CA, a server
// certificate for one host name, and client certificates, all signed by that CA, in a temp dir.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface TestCertificates {
  dir: string;
  /** PEM file paths. */
  ca: string;
  server: { cert: string; key: string };
  client: { cert: string; key: string };
  /** A second client, to pair one's certificate with the other's key. */
  otherClient: { cert: string; key: string };
  remove(): void;
}

const openssl = (dir: string, args: string[]) =>
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });

const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** A certificate for `name`, signed by the CA in `dir`, with the extensions a TLS peer checks. */
function signed(dir: string, name: string, usage: 'serverAuth' | 'clientAuth') {
  const base = `${usage}-${name}`;
  openssl(dir, [
    'req',
    ...ecKey,
    '-keyout',
    `${base}.key`,
    '-out',
    `${base}.csr`,
    '-subj',
    `/CN=${name}`,
  ]);
  const extensions = [
    'basicConstraints=CA:FALSE',
    'keyUsage=digitalSignature',
    `extendedKeyUsage=${usage}`,
    ...(usage === 'serverAuth' ? [`subjectAltName=DNS:${name}`] : []),
  ];
  writeFileSync(path.join(dir, `${base}.ext`), `${extensions.join('\n')}\n`);
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${base}.csr`,
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '2',
    '-out',
    `${base}.pem`,
    '-extfile',
    `${base}.ext`,
  ]);
  return { cert: path.join(dir, `${base}.pem`), key: path.join(dir, `${base}.key`) };
}

export function makeTestCertificates(serverName: string): TestCertificates {
  const dir = mkdtempSync(path.join(tmpdir(), 'paycenter-tls-'));
  openssl(dir, [
    'req',
    '-x509',
    ...ecKey,
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '2',
    '-subj',
    '/CN=paycenter test CA',
  ]);
  return {
    dir,
    ca: path.join(dir, 'ca.pem'),
    server: signed(dir, serverName, 'serverAuth'),
    client: signed(dir, 'paycenter-worker', 'clientAuth'),
    otherClient: signed(dir, 'paycenter-other', 'clientAuth'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
