// Which hosts a merchant URL may name: public internet addresses only, so a notify URL cannot
// make paycenter call into its own network (SSRF). Pure: resolving names happens elsewhere.

type Bytes = readonly number[];

/** The bytes of an IPv4 (dotted decimal) or IPv6 address, or undefined for anything else. */
export function parseIpAddress(text: string): Bytes | undefined {
  return text.includes(':') ? parseIpv6(text) : parseIpv4(text);
}

function parseIpv4(text: string): Bytes | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^(0|[1-9]\d{0,2})$/.test(p))) return undefined;
  const bytes = parts.map(Number);
  return bytes.every((b) => b <= 255) ? bytes : undefined;
}

function parseIpv6(text: string): Bytes | undefined {
  const address = text.replace(/%.*$/, ''); // a zone (fe80::1%eth0) names an interface, not a host
  const halves = address.split('::');
  if (halves.length > 2) return undefined;
  const groups = (half: string) => (half === '' ? [] : half.split(':'));
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  const words: number[] = [];
  const last = [...head, ...tail].at(-1);
  let embedded: Bytes | undefined;
  if (last?.includes('.')) {
    embedded = parseIpv4(last);
    if (!embedded) return undefined;
    (tail.length > 0 ? tail : head).pop();
  }
  const hex = (group: string) => (/^[0-9a-f]{1,4}$/i.test(group) ? parseInt(group, 16) : NaN);
  const headWords = head.map(hex);
  const tailWords = tail.map(hex);
  const embeddedWords = embedded
    ? [(embedded[0]! << 8) | embedded[1]!, (embedded[2]! << 8) | embedded[3]!]
    : [];
  const given = headWords.length + tailWords.length + embeddedWords.length;
  if ([...headWords, ...tailWords].some(Number.isNaN)) return undefined;
  if (halves.length === 1 ? given !== 8 : given > 7) return undefined;
  words.push(...headWords, ...Array<number>(8 - given).fill(0), ...tailWords, ...embeddedWords);
  return words.flatMap((w) => [w >> 8, w & 0xff]);
}

/** Whether `bytes` starts with the first `bits` bits of `prefix`. */
function inRange(bytes: Bytes, [prefix, bits]: Range): boolean {
  for (let bit = 0; bit < bits; bit++) {
    const mask = 0x80 >> (bit % 8);
    if ((bytes[bit >> 3]! & mask) !== (prefix[bit >> 3]! & mask)) return false;
  }
  return true;
}
type Range = readonly [Bytes, number];

/** IPv4 ranges that are not the public internet (RFC 6890 and friends). */
const internalIpv4: Range[] = [
  [[0, 0, 0, 0], 8], // "this network", 0.0.0.0
  [[10, 0, 0, 0], 8], // private
  [[100, 64, 0, 0], 10], // carrier-grade NAT; Alibaba Cloud's metadata 100.100.100.200
  [[127, 0, 0, 0], 8], // loopback
  [[169, 254, 0, 0], 16], // link-local; cloud metadata 169.254.169.254
  [[172, 16, 0, 0], 12], // private
  [[192, 0, 0, 0], 24], // IETF protocol assignments
  [[192, 0, 2, 0], 24], // documentation
  [[192, 88, 99, 0], 24], // 6to4 relay anycast
  [[192, 168, 0, 0], 16], // private
  [[198, 18, 0, 0], 15], // benchmarking
  [[198, 51, 100, 0], 24], // documentation
  [[203, 0, 113, 0], 24], // documentation
  [[224, 0, 0, 0], 4], // multicast
  [[240, 0, 0, 0], 4], // reserved, broadcast 255.255.255.255
];

const v6 = (...words: number[]): Bytes => [
  ...words.flatMap((w) => [w >> 8, w & 0xff]),
  ...Array<number>(16 - words.length * 2).fill(0),
];
/** IPv6 ranges that carry an IPv4 address in their last 32 bits: judged by that address. */
const ipv4CarryingRanges: Range[] = [
  [v6(0, 0, 0, 0, 0, 0xffff), 96], // IPv4-mapped ::ffff:a.b.c.d
  [v6(0x64, 0xff9b), 96], // NAT64
];
const globalUnicast: Range = [v6(0x2000), 3];
const internalGlobalIpv6: Range[] = [
  [v6(0x2001, 0), 23], // IETF protocol assignments (Teredo, ORCHID, ...)
  [v6(0x2001, 0xdb8), 32], // documentation
  [v6(0x3fff), 20], // documentation
];
const sixToFour: Range = [v6(0x2002), 16]; // 2002:aabb:ccdd::/48 carries a.b.c.d in bytes 2-5

/**
 * Whether `ip` (an address as text) is a public internet address. Anything else is not: loopback,
 * private, link-local, CGNAT, multicast, unspecified, unique-local (fc00::/7), documentation,
 * IPv4-compatible IPv6, and text that is no address at all.
 */
export function isPublicAddress(ip: string): boolean {
  const bytes = parseIpAddress(ip);
  if (!bytes) return false;
  if (bytes.length === 4) return !internalIpv4.some((range) => inRange(bytes, range));
  if (ipv4CarryingRanges.some((range) => inRange(bytes, range))) {
    return isPublicAddress(bytes.slice(12).join('.'));
  }
  if (inRange(bytes, sixToFour)) return isPublicAddress(bytes.slice(2, 6).join('.'));
  return inRange(bytes, globalUnicast) && !internalGlobalIpv6.some((r) => inRange(bytes, r));
}

/**
 * A URL's host as we compare it: lower case, no IPv6 brackets, no trailing dot. Give it the
 * hostname of a parsed URL, so odd IPv4 spellings (0x7f.1, 2130706433, 127.1) are already
 * normalised by the WHATWG parser to dotted decimal.
 */
export function normaliseHost(hostname: string): string {
  return hostname
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/\.$/, '');
}

/** An allow-list entry (a host as an operator writes it) as `normaliseHost` compares it. */
export function allowListHost(entry: string): string | undefined {
  const text = entry.trim();
  const bracketed = text.includes(':') && !text.startsWith('[') ? `[${text}]` : text;
  try {
    return normaliseHost(new URL(`http://${bracketed}`).hostname);
  } catch {
    return undefined;
  }
}

export type HostVerdict =
  | { kind: 'allowed' }
  | { kind: 'refused'; reason: string }
  /** A name: its addresses decide. */
  | { kind: 'name'; name: string };

/** What the host of a merchant URL alone tells: allowed, refused, or a name to resolve. */
export function judgeHost(hostname: string, allowedHosts: readonly string[]): HostVerdict {
  const host = normaliseHost(hostname);
  if (allowedHosts.includes(host)) return { kind: 'allowed' };
  if (parseIpAddress(host)) {
    return isPublicAddress(host)
      ? { kind: 'allowed' }
      : { kind: 'refused', reason: 'is not a public internet address' };
  }
  if (host === 'localhost' || host.endsWith('.localhost')) {
    return { kind: 'refused', reason: 'is a loopback name' };
  }
  return { kind: 'name', name: host };
}
