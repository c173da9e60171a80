// Merchant URLs lead only to the public internet: checked at create by resolving their names, and
// again at delivery on the very addresses we connect to (a name may be rebound in between).
import { lookup } from 'node:dns/promises';
import type { LookupFunction } from 'node:net';
import { isPublicAddress, judgeHost } from '../domain/addresses';
import type { FieldProblem } from '../domain/errors';

/** The addresses a host name resolves to; injectable so tests can own their DNS. */
export type HostResolver = (hostname: string) => Promise<string[]>;

export const systemResolver: HostResolver = async (hostname) =>
  (await lookup(hostname, { all: true, verbatim: true })).map((a) => a.address);

export interface AddressPolicy {
  allowedHosts: readonly string[];
  resolve: HostResolver;
  /** How long create waits for a name; delivery is bounded by its own timeout. */
  resolveTimeoutMs: number;
}

/** A host we must not connect to; its message names no address. */
export class AddressNotAllowed extends Error {
  readonly code = 'ADDRESS_NOT_ALLOWED';
}

const refusedName = 'resolves to an address that is not on the public internet';

/**
 * The field problems of a pay order's merchant URLs. A name that does not resolve now is
 * accepted (DNS may lag behind a new merchant); its delivery resolves and checks again.
 */
export async function merchantUrlProblems(
  urls: { notifyUrl?: string | undefined; returnUrl?: string | undefined },
  policy: AddressPolicy,
): Promise<FieldProblem[]> {
  const checks = Object.entries(urls).map(async ([field, url]) => {
    if (url === undefined) return [];
    const verdict = judgeHost(new URL(url).hostname, policy.allowedHosts);
    if (verdict.kind === 'refused') return [{ field: `body.${field}`, message: verdict.reason }];
    if (verdict.kind === 'allowed') return [];
    const addresses = await resolveWithin(policy, verdict.name);
    return addresses.every(isPublicAddress)
      ? []
      : [{ field: `body.${field}`, message: refusedName }];
  });
  return (await Promise.all(checks)).flat();
}

async function resolveWithin(policy: AddressPolicy, name: string): Promise<string[]> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<string[]>((resolve) => {
    timer = setTimeout(() => resolve([]), policy.resolveTimeoutMs);
  });
  try {
    return await Promise.race([policy.resolve(name).catch(() => []), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Refuses a URL whose host is an internal address literal (no lookup happens for those). */
export function assertLiteralAllowed(url: URL, policy: AddressPolicy) {
  if (judgeHost(url.hostname, policy.allowedHosts).kind === 'refused') {
    throw new AddressNotAllowed('the notify URL names an internal host');
  }
}

const noAddress = () => Object.assign(new Error('the name has no address'), { code: 'ENOTFOUND' });

/**
 * A `lookup` for node's http(s).request: resolves through the policy and hands the socket only
 * checked addresses, so what was checked is what is connected to.
 */
export function checkedLookup(policy: AddressPolicy): LookupFunction {
  return (hostname, options, callback) => {
    const checked = async () => {
      const addresses = await policy.resolve(hostname);
      const allowed = judgeHost(hostname, policy.allowedHosts).kind === 'allowed';
      if (addresses.length === 0) throw noAddress();
      if (!allowed && !addresses.every(isPublicAddress)) {
        throw new AddressNotAllowed('the notify URL resolves to an internal address');
      }
      return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
    };
    checked().then(
      (found) => {
        const family = options.family === 6 || options.family === 4 ? options.family : undefined;
        const fitting = family ? found.filter((a) => a.family === family) : found;
        if (options.all) return callback(null, fitting);
        const first = fitting[0];
        if (!first) return callback(noAddress(), '', 0);
        callback(null, first.address, first.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, '', 0),
    );
  };
}
