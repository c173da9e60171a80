// How paycenter reaches a Temporal cluster: TLS (server CA, client certificate, server name) and
// an API key, read and checked once at start, and the connection options every connection shares.
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { TLSConfig } from '@temporalio/client';

/** The variables that say how to reach Temporal; the names are those Temporal's own CLI reads. */
export interface TemporalSecuritySettings {
  TEMPORAL_TLS?: boolean;
  TEMPORAL_TLS_SERVER_CA_CERT_PATH?: string;
  TEMPORAL_TLS_CLIENT_CERT_PATH?: string;
  TEMPORAL_TLS_CLIENT_KEY_PATH?: string;
  TEMPORAL_TLS_SERVER_NAME?: string;
  TEMPORAL_API_KEY?: string;
  TEMPORAL_API_KEY_FILE?: string;
}

/** What a connection to Temporal is secured with; `{}` is plaintext. */
export interface TemporalSecurity {
  tls?: TLSConfig;
  apiKey?: string;
  /** For the start-up lines: who the client certificate names and until when it is valid. */
  clientCertificate?: { subject: string; validTo: string };
}

export const plaintextTemporal: TemporalSecurity = {};

type ReadFile = (path: string) => Buffer;

class SettingProblem extends Error {}

/**
 * The connection security the settings ask for, their files read and checked; or the problems
 * that keep it from being used, one line each, naming the variable at fault.
 */
export function readTemporalSecurity(
  s: TemporalSecuritySettings,
  readFile: ReadFile = readFileSync,
  now: Date = new Date(),
): { security: TemporalSecurity; problems: string[] } {
  const problems = inconsistencies(s);
  if (problems.length > 0) return { security: plaintextTemporal, problems };
  try {
    const apiKey = readApiKey(s, readFile);
    const wantsTls =
      s.TEMPORAL_TLS === true ||
      apiKey !== undefined ||
      [
        s.TEMPORAL_TLS_SERVER_CA_CERT_PATH,
        s.TEMPORAL_TLS_CLIENT_CERT_PATH,
        s.TEMPORAL_TLS_SERVER_NAME,
      ].some((v) => v !== undefined);
    if (!wantsTls) return { security: plaintextTemporal, problems: [] };
    const caPath = s.TEMPORAL_TLS_SERVER_CA_CERT_PATH;
    const ca = caPath && certificates('TEMPORAL_TLS_SERVER_CA_CERT_PATH', caPath, readFile).pem;
    const client = clientCertPair(s, readFile, now);
    const tls: TLSConfig = {
      ...(ca ? { serverRootCACertificate: ca } : {}),
      ...(client ? { clientCertPair: client.pair } : {}),
      ...(s.TEMPORAL_TLS_SERVER_NAME ? { serverNameOverride: s.TEMPORAL_TLS_SERVER_NAME } : {}),
    };
    return {
      security: {
        tls,
        ...(apiKey === undefined ? {} : { apiKey }),
        ...(client ? { clientCertificate: client.described } : {}),
      },
      problems: [],
    };
  } catch (err) {
    if (err instanceof SettingProblem)
      return { security: plaintextTemporal, problems: [err.message] };
    throw err;
  }
}

/** Settings that contradict each other, before any file is read. */
function inconsistencies(s: TemporalSecuritySettings): string[] {
  const problems: string[] = [];
  const cert = s.TEMPORAL_TLS_CLIENT_CERT_PATH;
  const key = s.TEMPORAL_TLS_CLIENT_KEY_PATH;
  if (cert && !key) {
    problems.push('TEMPORAL_TLS_CLIENT_CERT_PATH is set without TEMPORAL_TLS_CLIENT_KEY_PATH');
  }
  if (key && !cert) {
    problems.push('TEMPORAL_TLS_CLIENT_KEY_PATH is set without TEMPORAL_TLS_CLIENT_CERT_PATH');
  }
  if (s.TEMPORAL_API_KEY && s.TEMPORAL_API_KEY_FILE) {
    problems.push('TEMPORAL_API_KEY and TEMPORAL_API_KEY_FILE are both set: keep one');
  }
  if (s.TEMPORAL_TLS === false) {
    const tlsSettings = [
      'TEMPORAL_TLS_SERVER_CA_CERT_PATH',
      'TEMPORAL_TLS_CLIENT_CERT_PATH',
      'TEMPORAL_TLS_CLIENT_KEY_PATH',
      'TEMPORAL_TLS_SERVER_NAME',
    ] as const;
    const set = tlsSettings.filter((name) => s[name] !== undefined);
    if (set.length > 0) problems.push(`TEMPORAL_TLS is false but ${set.join(', ')} set TLS up`);
    if (s.TEMPORAL_API_KEY || s.TEMPORAL_API_KEY_FILE) {
      problems.push('TEMPORAL_TLS is false: an API key is never sent over plaintext');
    }
  }
  const name = s.TEMPORAL_TLS_SERVER_NAME;
  if (name !== undefined && !/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(name)) {
    problems.push(`TEMPORAL_TLS_SERVER_NAME "${name}" is not a host name`);
  }
  return problems;
}

function readSetting(variable: string, path: string, readFile: ReadFile): Buffer {
  try {
    return readFile(path);
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new SettingProblem(`${variable}: cannot read ${path} (${reason})`);
  }
}

function readApiKey(s: TemporalSecuritySettings, readFile: ReadFile): string | undefined {
  const file = s.TEMPORAL_API_KEY_FILE;
  const key = file
    ? readSetting('TEMPORAL_API_KEY_FILE', file, readFile).toString('utf8').trim()
    : s.TEMPORAL_API_KEY?.trim();
  if (key === undefined) return undefined;
  const variable = file ? 'TEMPORAL_API_KEY_FILE' : 'TEMPORAL_API_KEY';
  // It travels as an HTTP/2 header: one line of visible characters.
  if (key === '') throw new SettingProblem(`${variable}: the API key is empty`);
  if (!/^[\x21-\x7e]+$/.test(key)) {
    throw new SettingProblem(
      `${variable}: the API key has spaces, line breaks or other characters a header cannot carry`,
    );
  }
  return key;
}

const certificateBlock = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** The PEM certificates in a file: at least one, each one parsed. */
function certificates(variable: string, path: string, readFile: ReadFile) {
  const pem = readSetting(variable, path, readFile);
  const blocks = pem.toString('utf8').match(certificateBlock) ?? [];
  if (blocks.length === 0) {
    throw new SettingProblem(
      `${variable}: ${path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`,
    );
  }
  try {
    return { pem, parsed: blocks.map((block) => new X509Certificate(block)) };
  } catch (err) {
    throw new SettingProblem(
      `${variable}: ${path} holds a certificate that does not parse (${(err as Error).message})`,
    );
  }
}

function privateKey(path: string, pem: Buffer): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch {
    throw new SettingProblem(
      `TEMPORAL_TLS_CLIENT_KEY_PATH: ${path} holds no unencrypted PEM private key`,
    );
  }
}

/** The client certificate and its key, which must belong together and be valid now. */
function clientCertPair(s: TemporalSecuritySettings, readFile: ReadFile, now: Date) {
  const certPath = s.TEMPORAL_TLS_CLIENT_CERT_PATH;
  const keyPath = s.TEMPORAL_TLS_CLIENT_KEY_PATH;
  if (!certPath || !keyPath) return undefined;
  const { pem: crt, parsed } = certificates('TEMPORAL_TLS_CLIENT_CERT_PATH', certPath, readFile);
  const key = readSetting('TEMPORAL_TLS_CLIENT_KEY_PATH', keyPath, readFile);
  const leaf = parsed[0]!;
  if (!leaf.checkPrivateKey(privateKey(keyPath, key))) {
    throw new SettingProblem(
      `TEMPORAL_TLS_CLIENT_KEY_PATH: the key in ${keyPath} does not belong to the certificate in ${certPath}`,
    );
  }
  const validTo = new Date(leaf.validTo);
  if (validTo < now || new Date(leaf.validFrom) > now) {
    throw new SettingProblem(
      `TEMPORAL_TLS_CLIENT_CERT_PATH: the certificate in ${certPath} is valid only from ${leaf.validFrom} to ${leaf.validTo}`,
    );
  }
  return {
    pair: { crt, key },
    described: { subject: leaf.subject.replaceAll('\n', ', '), validTo: validTo.toISOString() },
  };
}

/** Whether a `host:port` address is on this machine (loopback), where plaintext stays local. */
export function isLoopbackAddress(address: string): boolean {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(address);
  const host = bracketed ? bracketed[1]! : address.replace(/:\d+$/, '');
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

/**
 * The options of a connection to Temporal, the same for the client's `Connection.connect` and
 * the worker's `NativeConnection.connect`.
 */
export function temporalConnectionOptions(address: string, security: TemporalSecurity) {
  return {
    address,
    ...(security.tls ? { tls: security.tls } : {}),
    ...(security.apiKey === undefined ? {} : { apiKey: security.apiKey }),
  };
}

/**
 * Connects with `connect` (the client's or the worker's), and says which Temporal and which
 * security when it fails: a refused handshake reads as the TLS setting it is about.
 */
export async function connectTemporal<T>(
  connect: (options: ReturnType<typeof temporalConnectionOptions>) => Promise<T>,
  address: string,
  security: TemporalSecurity,
): Promise<T> {
  try {
    return await connect(temporalConnectionOptions(address, security));
  } catch (err) {
    const how = describeTemporalSecurity(security);
    throw new Error(`Temporal at ${address} (${how}) could not be reached: ${String(err)}`, {
      cause: err,
    });
  }
}

/** One line on how the connection is secured, for the start-up lines; never a key. */
export function describeTemporalSecurity(security: TemporalSecurity): string {
  const { tls, apiKey, clientCertificate } = security;
  if (!tls) return 'plaintext, no TLS';
  const parts = [
    clientCertificate
      ? `mutual TLS as ${clientCertificate.subject} (certificate valid to ${clientCertificate.validTo})`
      : 'TLS',
    tls.serverRootCACertificate
      ? 'server CA from TEMPORAL_TLS_SERVER_CA_CERT_PATH'
      : "the system's trusted CAs",
    ...(tls.serverNameOverride ? [`server name ${tls.serverNameOverride}`] : []),
    ...(apiKey === undefined ? [] : ['API key']),
  ];
  return parts.join(', ');
}
