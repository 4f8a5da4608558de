/**
 * Which IP addresses a provider-controlled URL may not reach, by default.
 *
 * Ranges follow the IANA special-purpose registries (RFC 6890 and successors): "this
 * network" / unspecified, loopback, RFC 1918 private, CGNAT 100.64/10 (also Alibaba's
 * metadata 100.100.100.200), link-local 169.254/16 (AWS/GCP/Azure metadata
 * 169.254.169.254), IETF, documentation and benchmarking nets, multicast, reserved 240/4,
 * broadcast; IPv6 ::, ::1, ULA fc00::/7 (AWS IMDSv6 fd00:ec2::254), link-local fe80::/10,
 * site-local fec0::/10, multicast, documentation, discard, benchmarking, ORCHID.
 *
 * An IPv6 address that carries an IPv4 address is judged by that IPv4 address: mapped
 * ::ffff:0:0/96, IPv4-compatible ::/96, SIIT ::ffff:0:0:0/96, NAT64 64:ff9b::/96, 6to4
 * 2002::/16 and Teredo 2001::/32 (server and client, the client's bits inverted, RFC 4380).
 * The local-use NAT64 prefix 64:ff9b:1::/48 (RFC 8215) is refused whole: where its IPv4
 * sits depends on a prefix length only the local network knows.
 */
import { BlockList, isIP } from 'node:net';

/** Why an address is refused: the range's name ("loopback") and the address judged. */
export interface AddressVerdict {
  rule: string;
  address: string;
  /** The IPv4 address the IPv6 `address` carries, when that is what was judged. */
  embedded: string | null;
}

type Family = 'ipv4' | 'ipv6';

// The first rule that matches names the refusal: broadcast before the reserved 240/4 it sits in.
const RANGES: ReadonlyArray<readonly [rule: string, net: string, bits: number, family: Family]> = [
  ['broadcast', '255.255.255.255', 32, 'ipv4'],
  ['unspecified', '0.0.0.0', 8, 'ipv4'],
  ['private', '10.0.0.0', 8, 'ipv4'],
  ['shared (CGNAT)', '100.64.0.0', 10, 'ipv4'],
  ['loopback', '127.0.0.0', 8, 'ipv4'],
  ['link-local (cloud metadata)', '169.254.0.0', 16, 'ipv4'],
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
  ['local-use NAT64', '64:ff9b:1::', 48, 'ipv6'],
  ['discard', '100::', 64, 'ipv6'],
  ['benchmarking', '2001:2::', 48, 'ipv6'],
  ['ORCHID', '2001:10::', 28, 'ipv6'],
  ['ORCHID', '2001:20::', 28, 'ipv6'],
  ['documentation', '2001:db8::', 32, 'ipv6'],
  ['documentation', '3fff::', 20, 'ipv6'],
  ['unique-local', 'fc00::', 7, 'ipv6'],
  ['link-local', 'fe80::', 10, 'ipv6'],
  ['site-local', 'fec0::', 10, 'ipv6'],
  ['multicast', 'ff00::', 8, 'ipv6'],
];

const lists = new Map<string, BlockList>();
for (const [rule, net, bits, family] of RANGES) {
  let list = lists.get(rule);
  if (!list) {
    list = new BlockList();
    lists.set(rule, list);
  }
  list.addSubnet(net, bits, family);
}

function ruleOf(address: string, family: Family): string | null {
  for (const [rule, list] of lists) if (list.check(address, family)) return rule;
  return null;
}

/** The verdict on one IP address: null for a public unicast address. */
export function classifyAddress(address: string): AddressVerdict | null {
  const bare = stripZone(address);
  const family = isIP(bare);
  if (family === 0) return { rule: 'not an IP address', address, embedded: null };
  if (family === 4) {
    const rule = ruleOf(bare, 'ipv4');
    return rule ? { rule, address, embedded: null } : null;
  }
  // Embedded first: BlockList also matches IPv4-mapped addresses against IPv4 subnets,
  // which would lose which IPv4 address was judged.
  for (const v4 of embeddedIpv4(bare)) {
    const rule = ruleOf(v4, 'ipv4');
    if (rule) return { rule, address, embedded: v4 };
  }
  const own = ruleOf(bare, 'ipv6');
  return own ? { rule: own, address, embedded: null } : null;
}

/** "10.0.0.5, a private address" or "::ffff:a00:5, which embeds 10.0.0.5, a private address". */
export function describeVerdict(v: AddressVerdict): string {
  const what = `${/^[aeiou]/i.test(v.rule) ? 'an' : 'a'} ${v.rule} address`;
  if (v.rule === 'not an IP address') return `${v.address} is not an IP address`;
  return v.embedded ? `${v.address}, which embeds ${v.embedded}, ${what}` : `${v.address}, ${what}`;
}

/** The IPv4 addresses an IPv6 address carries in one of the embedding forms, else none. */
export function embeddedIpv4(v6: string): string[] {
  const g = ipv6Groups(v6);
  if (g === null) return [];
  const v4 = (hi: number, lo: number): string => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  const zeros = (from: number, to: number): boolean => g.slice(from, to).every((x) => x === 0);
  if (zeros(0, 5) && g[5] === 0xffff) return [v4(g[6]!, g[7]!)]; // mapped ::ffff:a.b.c.d
  if (zeros(0, 4) && g[4] === 0xffff && g[5] === 0) return [v4(g[6]!, g[7]!)]; // SIIT ::ffff:0:a.b.c.d
  if (zeros(0, 6) && (g[6] !== 0 || g[7]! > 1)) return [v4(g[6]!, g[7]!)]; // IPv4-compatible (not :: or ::1)
  if (g[0] === 0x64 && g[1] === 0xff9b && zeros(2, 6)) return [v4(g[6]!, g[7]!)]; // NAT64
  if (g[0] === 0x2002) return [v4(g[1]!, g[2]!)]; // 6to4
  if (g[0] === 0x2001 && g[1] === 0) return [v4(g[2]!, g[3]!), v4(~g[6]! & 0xffff, ~g[7]! & 0xffff)]; // Teredo
  return [];
}

function stripZone(address: string): string {
  const zone = address.indexOf('%');
  return zone >= 0 ? address.slice(0, zone) : address;
}

/** The eight 16-bit groups of an IPv6 address (dotted IPv4 tail and zone allowed), or null. */
export function ipv6Groups(v6: string): number[] | null {
  let text = stripZone(v6.toLowerCase());
  if (isIP(text) !== 6) return null;
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const parse = (part: string): number[] =>
    part === '' ? [] : part.split(':').map((x) => Number.parseInt(x, 16));
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  const fill = 8 - left.length - right.length;
  if (fill < 0 || (tail === undefined && fill !== 0)) return null;
  return [...left, ...new Array<number>(fill).fill(0), ...right];
}
