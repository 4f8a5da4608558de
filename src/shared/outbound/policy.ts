/**
 * The one outbound policy: where Tollgate may send a request whose URL someone other than
 * the operator chose (an API's upstream, a webhook endpoint, a product's notification URL,
 * a licence activation URL, a page the capture API renders).
 *
 * Default: http(s) only, no credentials in the URL, and never an address `classifyAddress`
 * refuses (loopback, private, link-local, CGNAT, multicast, reserved, and the IPv6 forms
 * that embed them). The operator widens it with allow entries: a host name (`api.internal`,
 * trusted whatever it resolves to), a host and port (`127.0.0.1:8123`), an IP address or a
 * CIDR (`10.0.0.0/8`, `fd00::/8`; `0.0.0.0/0` and `::/0` allow everything).
 *
 * Two checks, one rule:
 * - `problem(url)` at write time: scheme, literal address, and the host's current DNS
 *   answer (a name that does not resolve now passes: the connect-time check still holds).
 * - `connector()` / `agent()` at connect time, for every connection undici opens — so every
 *   redirect hop too: an IP literal is judged before dialling; a name is resolved by a
 *   lookup that judges each address and hands the socket only judged addresses, so a DNS
 *   answer that changes after the write-time check (DNS rebinding) cannot slip through.
 *   Refusals fail the connection with an `OutboundRefusedError` (code EOUTBOUND). Pooled
 *   connections are judged once, when opened: nothing is added per request.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { Agent, buildConnector } from 'undici';
import { invalid } from '../errors.js';
import { type AddressVerdict, classifyAddress, describeVerdict } from './addresses.js';

/** Resolves a host name to all its addresses (injectable: tests stand in for DNS). */
export type Resolver = (host: string) => Promise<LookupAddress[]>;

export interface OutboundPolicyOptions {
  /** Allow entries: host, host:port, IP, CIDR (see the header). */
  allow?: readonly string[];
  resolve?: Resolver;
  /** Write-time DNS budget; a slower answer counts as "does not resolve now". Default 2 s. */
  resolveTimeoutMs?: number;
}

const REFUSED = 'refused by the outbound policy: ';

export class OutboundRefusedError extends Error {
  readonly code = 'EOUTBOUND';
  /** Without the host: "resolves to 10.0.0.5, a private address" or "127.0.0.1 is a loopback address". */
  readonly reason: string;
  /** The message without its "refused by the outbound policy" lead. */
  readonly detail: string;
  constructor(
    readonly host: string,
    readonly verdict: AddressVerdict,
  ) {
    const reason =
      host === verdict.address ? literalReason(verdict) : `resolves to ${describeVerdict(verdict)}`;
    const detail = host === verdict.address ? reason : `${host} ${reason}`;
    super(`${REFUSED}${detail}`);
    this.name = 'OutboundRefusedError';
    this.reason = reason;
    this.detail = detail;
  }
}

function literalReason(v: AddressVerdict): string {
  const [address, what] = describeVerdict({ ...v, embedded: null }).split(', ') as [string, string];
  return v.embedded ? `${address} embeds ${v.embedded}, ${what}` : `${address} is ${what}`;
}

/** The OutboundRefusedError somewhere in `e`'s cause chain (undici wraps connect errors), else null. */
export function outboundRefusal(e: unknown): OutboundRefusedError | null {
  for (let cur: unknown = e, depth = 0; cur instanceof Error && depth < 6; depth++) {
    if (cur instanceof OutboundRefusedError) return cur;
    cur = (cur as Error & { cause?: unknown }).cause;
  }
  return null;
}

/** `new URL().hostname` without IPv6 brackets or the root-label dot, lower-case. */
export function normalHost(hostname: string): string {
  let h = hostname.toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  if (h.endsWith('.')) h = h.slice(0, -1);
  return h;
}

const defaultResolve: Resolver = (host) =>
  new Promise((resolve, reject) => {
    dnsLookup(host, { all: true, verbatim: true }, (err, addresses) => {
      if (err) reject(err);
      else resolve(addresses);
    });
  });

/** Parses one allow entry or says why it is not one. */
function parseEntry(entry: string): { cidr: [string, number, 'ipv4' | 'ipv6'] } | { host: string } | string {
  const e = entry.trim().toLowerCase();
  if (e === '') return 'is empty';
  const slash = e.indexOf('/');
  if (slash >= 0) {
    const net = e.slice(0, slash);
    const bits = Number(e.slice(slash + 1));
    const family = isIP(net);
    const max = family === 4 ? 32 : 128;
    if (family === 0 || !Number.isInteger(bits) || bits < 0 || bits > max)
      return 'is not a CIDR (address/bits)';
    return { cidr: [net, bits, family === 4 ? 'ipv4' : 'ipv6'] };
  }
  if (isIP(normalHost(e))) return { host: normalHost(e) };
  // host:port, [v6]:port or a bare host name
  const m = /^(\[[0-9a-f:.]+\]|[a-z0-9._-]+)(?::(\d{1,5}))?$/.exec(e);
  if (!m || (m[2] !== undefined && Number(m[2]) > 65535)) return 'is not a host, host:port, IP or CIDR';
  const host = normalHost(m[1]!);
  return { host: m[2] === undefined ? host : `${host}:${Number(m[2])}` };
}

/** Throws a RangeError naming the first bad entry (config validation uses it). */
export function checkAllowEntries(entries: readonly string[]): void {
  for (const entry of entries) {
    const p = parseEntry(entry);
    if (typeof p === 'string') throw new RangeError(`${JSON.stringify(entry)} ${p}`);
  }
}

export class OutboundPolicy {
  private readonly hosts = new Set<string>();
  private readonly nets = new BlockList();
  private readonly resolve: Resolver;
  private readonly resolveTimeoutMs: number;

  constructor(options: OutboundPolicyOptions = {}) {
    this.resolve = options.resolve ?? defaultResolve;
    this.resolveTimeoutMs = options.resolveTimeoutMs ?? 2_000;
    this.allow(options.allow ?? []);
  }

  /** Widens the policy (the demo allows its own sample APIs this way). */
  allow(entries: readonly string[]): void {
    checkAllowEntries(entries);
    for (const entry of entries) {
      const p = parseEntry(entry) as Exclude<ReturnType<typeof parseEntry>, string>;
      if ('cidr' in p) this.nets.addSubnet(...p.cidr);
      else if (isIP(p.host)) this.nets.addAddress(p.host, isIP(p.host) === 4 ? 'ipv4' : 'ipv6');
      else this.hosts.add(p.host);
    }
  }

  private hostAllowed(host: string, port: number): boolean {
    return this.hosts.has(host) || this.hosts.has(`${host}:${port}`);
  }

  /**
   * Throws VALIDATION_FAILED naming `field` when `url` may not be used (admin API: 400).
   * The caller has already checked that `url` parses.
   */
  async assert(field: string, url: string | URL): Promise<void> {
    const problem = await this.problem(typeof url === 'string' ? new URL(url) : url);
    if (problem) throw invalid(field, problem);
  }

  /** The refusal for one address reached through `host:port`, or null. */
  judge(host: string, port: number, address: string): OutboundRefusedError | null {
    if (this.hostAllowed(host, port) || this.hostAllowed(address, port)) return null;
    const family = isIP(address);
    if (family !== 0 && this.nets.check(address, family === 4 ? 'ipv4' : 'ipv6')) return null;
    const verdict = classifyAddress(address);
    return verdict ? new OutboundRefusedError(host, verdict) : null;
  }

  /**
   * Write-time check: why `url` may not be used, or null ("resolves to 10.0.0.5, a private
   * address; allow it with --outbound-allow"). Scheme and credentials first, then the
   * literal address or the name's current DNS answer.
   */
  async problem(url: URL): Promise<string | null> {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return `scheme ${url.protocol} is not allowed`;
    if (url.username || url.password) return 'credentials in the URL are not allowed';
    const refused = await this.refusal(url);
    return refused ? `${refused.reason}; allow it with --outbound-allow` : null;
  }

  /** The address refusal for `url`'s host as it resolves now, or null. */
  async refusal(url: URL): Promise<OutboundRefusedError | null> {
    const host = normalHost(url.hostname);
    const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
    if (this.hostAllowed(host, port)) return null;
    for (const address of await this.addressesNow(host)) {
      const refused = this.judge(host, port, address);
      if (refused) return refused;
    }
    return null;
  }

  private async addressesNow(host: string): Promise<string[]> {
    if (isIP(host)) return [host];
    // RFC 6761: localhost names are loopback whatever a resolver says; .invalid never resolves.
    if (host === 'localhost' || host.endsWith('.localhost')) return ['127.0.0.1', '::1'];
    if (host.endsWith('.invalid')) return [];
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<LookupAddress[]>((resolve) => {
      timer = setTimeout(() => resolve([]), this.resolveTimeoutMs);
    });
    try {
      const found = await Promise.race([this.resolve(host).catch(() => []), late]);
      return found.map((a) => a.address);
    } finally {
      clearTimeout(timer);
    }
  }

  /** A `net.connect` lookup that resolves, judges every address, and returns only judged ones. */
  private lookup(port: number) {
    return (
      hostname: string,
      options: { all?: boolean },
      callback: (err: Error | null, address: string | LookupAddress[], family?: number) => void,
    ): void => {
      const host = normalHost(hostname);
      this.resolve(host).then(
        (addresses) => {
          if (addresses.length === 0) return callback(new Error(`${host} has no addresses`), '', 0);
          for (const a of addresses) {
            const refused = this.judge(host, port, a.address);
            if (refused) return callback(refused, '', 0);
          }
          if (options.all) callback(null, addresses);
          else callback(null, addresses[0]!.address, addresses[0]!.family);
        },
        (err: Error) => callback(err, '', 0),
      );
    };
  }

  /** An undici `connect` function that applies the policy to every connection it opens. */
  connector(options: buildConnector.BuildOptions = {}): buildConnector.connector {
    const plain = buildConnector(options);
    const guarded = new Map<number, buildConnector.connector>();
    return (opts, callback) => {
      const host = normalHost(opts.hostname);
      const port = Number(opts.port) || (opts.protocol === 'https:' ? 443 : 80);
      if (isIP(host)) {
        const refused = this.judge(host, port, host);
        if (refused) {
          queueMicrotask(() => callback(refused, null));
          return;
        }
        return plain(opts, callback);
      }
      if (this.hostAllowed(host, port)) return plain(opts, callback);
      // One connector per port (the lookup needs it for host:port entries); few ports in practice.
      let connect = guarded.get(port);
      if (!connect) {
        connect = buildConnector({ ...options, lookup: this.lookup(port) } as buildConnector.BuildOptions);
        guarded.set(port, connect);
      }
      return connect(opts, callback);
    };
  }

  /** An undici Agent whose every connection goes through `connector()`. */
  agent(options: Agent.Options & { connectTimeoutMs?: number } = {}): Agent {
    const { connectTimeoutMs, ...rest } = options;
    return new Agent({ ...rest, connect: this.connector({ timeout: connectTimeoutMs ?? 10_000 }) });
  }
}
