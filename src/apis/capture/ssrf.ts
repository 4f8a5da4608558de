/**
 * SSRF policy for the capture API: which URLs and which IP addresses a capture may reach.
 *
 * A URL passes when its scheme is http/https and every address its host resolves to is a
 * public unicast address — or its host is on the operator's allow-list. Refused ranges
 * (IANA special-purpose registries, RFC 6890 and successors): unspecified, "this network",
 * loopback, RFC 1918 private, CGNAT 100.64/10 (also Alibaba's metadata 100.100.100.200),
 * link-local 169.254/16 (AWS/GCP/Azure metadata 169.254.169.254), IETF/benchmark/doc nets,
 * multicast, reserved 240/4, broadcast; IPv6 ::, ::1, ULA fc00::/7 (AWS IMDSv6
 * fd00:ec2::254), link-local fe80::/10, site-local fec0::/10, multicast ff00::/8, doc
 * 2001:db8::/32, discard 100::/64. IPv4 addresses embedded in IPv6 (mapped ::ffff:0:0/96,
 * NAT64 64:ff9b::/96, 6to4 2002::/16) are judged by their IPv4 address.
 *
 * `guardedLookup` is the DNS function handed to the outbound HTTP client: the address it
 * checks is the address the socket connects to, so a DNS answer that changes between the
 * check and the connection (DNS rebinding) cannot slip through.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';

const RANGES: ReadonlyArray<readonly [kind: string, net: string, bits: number, family: 'ipv4' | 'ipv6']> = [
  ['unspecified', '0.0.0.0', 8, 'ipv4'],
  ['private', '10.0.0.0', 8, 'ipv4'],
  ['shared (CGNAT)', '100.64.0.0', 10, 'ipv4'],
  ['loopback', '127.0.0.0', 8, 'ipv4'],
  ['link-local (metadata)', '169.254.0.0', 16, 'ipv4'],
  ['private', '172.16.0.0', 12, 'ipv4'],
  ['reserved', '192.0.0.0', 24, 'ipv4'],
  ['documentation', '192.0.2.0', 24, 'ipv4'],
  ['reserved', '192.88.99.0', 24, 'ipv4'],
  ['private', '192.168.0.0', 16, 'ipv4'],
  ['benchmarking', '198.18.0.0', 15, 'ipv4'],
  ['documentation', '198.51.100.0', 24, 'ipv4'],
  ['documentation', '203.0.113.0', 24, 'ipv4'],
  ['multicast', '224.0.0.0', 4, 'ipv4'],
  ['reserved', '240.0.0.0', 4, 'ipv4'],
  ['unspecified', '::', 128, 'ipv6'],
  ['loopback', '::1', 128, 'ipv6'],
  ['discard', '100::', 64, 'ipv6'],
  ['documentation', '2001:db8::', 32, 'ipv6'],
  ['unique-local', 'fc00::', 7, 'ipv6'],
  ['link-local', 'fe80::', 10, 'ipv6'],
  ['site-local', 'fec0::', 10, 'ipv6'],
  ['multicast', 'ff00::', 8, 'ipv6'],
];

const lists = new Map<string, BlockList>();
for (const [kind, net, bits, family] of RANGES) {
  let list = lists.get(kind);
  if (!list) {
    list = new BlockList();
    lists.set(kind, list);
  }
  list.addSubnet(net, bits, family);
}

function rangeOf(address: string, family: 'ipv4' | 'ipv6'): string | null {
  for (const [kind, list] of lists) if (list.check(address, family)) return kind;
  return null;
}

/** Why an address is refused ("127.0.0.1 is loopback"), or null for a public unicast address. */
export function addressProblem(address: string): string | null {
  const family = isIP(address);
  if (family === 0) return `${address} is not an IP address`;
  if (family === 4) {
    const kind = rangeOf(address, 'ipv4');
    return kind ? `${address} is ${kind}` : null;
  }
  const embedded = embeddedIpv4(address);
  if (embedded !== null) {
    const kind = rangeOf(embedded, 'ipv4');
    return kind ? `${address} embeds ${embedded}, which is ${kind}` : null;
  }
  const kind = rangeOf(address, 'ipv6');
  return kind ? `${address} is ${kind}` : null;
}

/** The IPv4 address inside an IPv4-mapped, NAT64 or 6to4 IPv6 address, else null. */
function embeddedIpv4(v6: string): string | null {
  const groups = expandIpv6(v6);
  if (groups === null) return null;
  const v4 = (hi: number, lo: number): string => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  const zeros = (from: number, to: number): boolean => groups.slice(from, to).every((g) => g === 0);
  if (zeros(0, 5) && groups[5] === 0xffff) return v4(groups[6]!, groups[7]!); // ::ffff:a.b.c.d
  if (groups[0] === 0x64 && groups[1] === 0xff9b && zeros(2, 6)) return v4(groups[6]!, groups[7]!); // NAT64
  if (groups[0] === 0x2002) return v4(groups[1]!, groups[2]!); // 6to4
  return null;
}

function expandIpv6(v6: string): number[] | null {
  let text = v6.toLowerCase();
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  // A dotted IPv4 tail (::ffff:1.2.3.4) becomes two hex groups.
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const parse = (part: string): number[] =>
    part === '' ? [] : part.split(':').map((g) => Number.parseInt(g, 16));
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  const fill = 8 - left.length - right.length;
  if (fill < 0 || (tail === undefined && fill !== 0)) return null;
  const groups = [...left, ...new Array<number>(fill).fill(0), ...right];
  return groups.some((g) => Number.isNaN(g)) ? null : groups;
}

export interface HostPolicy {
  /** Hostnames (or IP literals) exempt from the address check, lower-case, no trailing dot. */
  readonly allowHosts: ReadonlySet<string>;
}

export function makeHostPolicy(allowHosts: readonly string[] = []): HostPolicy {
  return { allowHosts: new Set(allowHosts.map(normalHost)) };
}

/** `new URL().hostname` without IPv6 brackets or the root-label dot, lower-case. */
export function normalHost(hostname: string): string {
  let h = hostname.toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  if (h.endsWith('.')) h = h.slice(0, -1);
  return h;
}

export class RefusedError extends Error {
  constructor(
    readonly url: string,
    reason: string,
  ) {
    super(reason);
    this.name = 'RefusedError';
  }
}

/** Scheme check only; addresses are checked when resolved. Returns a reason or null. */
export function schemeProblem(url: URL): string | null {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `scheme ${url.protocol} is not allowed`;
  if (url.username || url.password) return 'credentials in the URL are not allowed';
  return null;
}

/** Resolve `url`'s host and throw RefusedError unless it may be fetched. Returns the addresses. */
export async function checkUrl(policy: HostPolicy, url: URL): Promise<LookupAddress[]> {
  const scheme = schemeProblem(url);
  if (scheme) throw new RefusedError(url.href, scheme);
  const host = normalHost(url.hostname);
  try {
    return await resolveChecked(policy, host);
  } catch (e) {
    if (e instanceof RefusedError) throw new RefusedError(url.href, e.message);
    throw e;
  }
}

async function resolveChecked(policy: HostPolicy, host: string): Promise<LookupAddress[]> {
  const addresses = await resolveAll(host);
  if (policy.allowHosts.has(host)) return addresses;
  for (const a of addresses) {
    const problem = addressProblem(a.address);
    if (problem)
      throw new RefusedError(host, host === a.address ? problem : `${host} resolves to ${problem}`);
  }
  return addresses;
}

function resolveAll(host: string): Promise<LookupAddress[]> {
  if (isIP(host)) return Promise.resolve([{ address: host, family: isIP(host) }]);
  return new Promise((resolve, reject) => {
    dnsLookup(host, { all: true, verbatim: true }, (err, addresses) => {
      if (err) reject(new RefusedError(host, `host ${host} does not resolve (${err.code ?? err.message})`));
      else if (addresses.length === 0) reject(new RefusedError(host, `host ${host} has no addresses`));
      else resolve(addresses);
    });
  });
}

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/**
 * A `net.connect` lookup function that resolves, checks every address, and hands the
 * socket only checked addresses. Refusals surface as an error with code `ESSRF`.
 */
export function guardedLookup(policy: HostPolicy) {
  return (hostname: string, options: { all?: boolean }, callback: LookupCallback): void => {
    resolveChecked(policy, normalHost(hostname)).then(
      (addresses) => {
        if (options.all) callback(null, addresses);
        else callback(null, addresses[0]!.address, addresses[0]!.family);
      },
      (e: unknown) => {
        const err = (e instanceof Error ? e : new Error(String(e))) as NodeJS.ErrnoException;
        if (e instanceof RefusedError) err.code = 'ESSRF';
        callback(err, '', 0);
      },
    );
  };
}
