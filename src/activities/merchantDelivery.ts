// One POST to a merchant's notify URL: only to checked addresses, no redirects followed, a capped
// read of the answer, and the outcome as a category the merchant may see (no addresses, no raw errors).
import http from 'node:http';
import https from 'node:https';
import { assertLiteralAllowed, checkedLookup, type AddressPolicy } from '../services/merchantUrls';

export const deliveryErrors = [
  'ADDRESS_NOT_ALLOWED',
  'DNS_FAILED',
  'TIMEOUT',
  'CONNECTION_REFUSED',
  'CONNECTION_RESET',
  'HOST_UNREACHABLE',
  'TLS_ERROR',
  'CONNECTION_FAILED',
  'HTTP_3XX',
  'HTTP_4XX',
  'HTTP_5XX',
  'HTTP_OTHER',
] as const;
export type DeliveryError = (typeof deliveryErrors)[number];

export interface DeliveryOutcome {
  responseStatus: number | null;
  error: DeliveryError | null;
  /** From the start of the request to its outcome. */
  durationMs: number;
}

/** We never need the merchant's answer body; reading a little lets the exchange end cleanly. */
const maxResponseBytes = 64 * 1024;

export async function postToMerchant(
  target: string,
  headers: Record<string, string>,
  body: string,
  { policy, timeoutMs }: { policy: AddressPolicy; timeoutMs: number },
): Promise<DeliveryOutcome> {
  const startedAt = performance.now();
  const durationMs = () => Math.round(performance.now() - startedAt);
  let url: URL;
  try {
    url = new URL(target);
    assertLiteralAllowed(url, policy);
  } catch (err) {
    return { responseStatus: null, error: errorCategory(err), durationMs: durationMs() };
  }
  return new Promise((resolve) => {
    let status: number | null = null;
    let settled = false;
    const finish = (error: DeliveryError | null) => {
      if (settled) return;
      settled = true;
      resolve({ responseStatus: status, error, durationMs: durationMs() });
    };
    const request = (url.protocol === 'https:' ? https : http).request(
      url,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        lookup: checkedLookup(policy),
        agent: false,
        signal: AbortSignal.timeout(timeoutMs),
      },
      (response) => {
        status = response.statusCode ?? null;
        const answered = statusCategory(status);
        let read = 0;
        response.on('data', (chunk: Buffer) => {
          read += chunk.length;
          if (read > maxResponseBytes) {
            request.destroy();
            finish(answered);
          }
        });
        response.on('end', () => finish(answered));
        response.on('close', () => finish(answered));
      },
    );
    // After an answer arrived, a later failure (timeout while reading) leaves the answer standing.
    request.on('error', (err) =>
      finish(status === null ? errorCategory(err) : statusCategory(status)),
    );
    request.end(body);
  });
}

function statusCategory(status: number | null): DeliveryError | null {
  if (status === null) return 'HTTP_OTHER';
  if (status >= 200 && status < 300) return null;
  if (status >= 300 && status < 400) return 'HTTP_3XX';
  if (status >= 400 && status < 500) return 'HTTP_4XX';
  if (status >= 500 && status < 600) return 'HTTP_5XX';
  return 'HTTP_OTHER';
}

const errorCodes: Record<string, DeliveryError> = {
  ADDRESS_NOT_ALLOWED: 'ADDRESS_NOT_ALLOWED',
  ENOTFOUND: 'DNS_FAILED',
  EAI_AGAIN: 'DNS_FAILED',
  ABORT_ERR: 'TIMEOUT',
  ETIMEDOUT: 'TIMEOUT',
  ECONNREFUSED: 'CONNECTION_REFUSED',
  ECONNRESET: 'CONNECTION_RESET',
  EPIPE: 'CONNECTION_RESET',
  EHOSTUNREACH: 'HOST_UNREACHABLE',
  ENETUNREACH: 'HOST_UNREACHABLE',
};

function errorCategory(err: unknown): DeliveryError {
  const { code, name } = err as { code?: unknown; name?: unknown };
  if (name === 'AbortError' || name === 'TimeoutError') return 'TIMEOUT';
  if (typeof code !== 'string') return 'CONNECTION_FAILED';
  if (/^(ERR_TLS|ERR_SSL|CERT_|UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED|HOSTNAME_MISMATCH)/.test(code)) {
    return 'TLS_ERROR';
  }
  return errorCodes[code] ?? 'CONNECTION_FAILED';
}
