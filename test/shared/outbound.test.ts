/**
 * The outbound policy on its own: the address classifier on literal addresses (no traffic),
 * allow entries, the write-time check with a stand-in resolver, and the connect-time guard
 * against a loopback server this test runs.
 */
import type { LookupAddress } from 'node:dns';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkAllowEntries,
  classifyAddress,
  OutboundPolicy,
  outboundRefusal,
  type Resolver,
} from '../../src/shared/index.js';

describe('classifyAddress', () => {
  it.each([
    ['0.0.0.0', 'unspecified'],
    ['10.0.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.0.10', 'private'],
    ['127.0.0.1', 'loopback'],
    ['127.255.0.3', 'loopback'],
    ['169.254.169.254', 'link-local'],
    ['100.64.0.1', 'CGNAT'],
    ['100.100.100.200', 'CGNAT'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['240.0.0.1', 'reserved'],
    ['192.0.0.170', 'reserved'],
    ['198.18.0.1', 'benchmarking'],
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['fc00::1', 'unique-local'],
    ['fd00:ec2::254', 'unique-local'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['febf::1', 'link-local'],
    ['fec0::1', 'site-local'],
    ['ff02::1', 'multicast'],
    ['2001:db8::1', 'documentation'],
    ['100::1', 'discard'],
  ])('refuses %s (%s)', (address, rule) => {
    const v = classifyAddress(address);
    expect(v?.rule).toContain(rule);
    expect(v?.embedded).toBeNull();
  });

  it.each([
    ['::ffff:127.0.0.1', '127.0.0.1', 'loopback', 'IPv4-mapped, dotted'],
    ['::ffff:7f00:1', '127.0.0.1', 'loopback', 'IPv4-mapped, hex'],
    ['::ffff:a9fe:a9fe', '169.254.169.254', 'link-local', 'IPv4-mapped metadata'],
    ['::127.0.0.1', '127.0.0.1', 'loopback', 'IPv4-compatible'],
    ['::a00:1', '10.0.0.1', 'private', 'IPv4-compatible, hex'],
    ['::ffff:0:a9fe:a9fe', '169.254.169.254', 'link-local', 'SIIT'],
    ['::ffff:0:7f00:1', '127.0.0.1', 'loopback', 'SIIT'],
    ['64:ff9b::10.0.0.1', '10.0.0.1', 'private', 'NAT64'],
    ['64:ff9b::a9fe:a9fe', '169.254.169.254', 'link-local', 'NAT64'],
    ['2002:a00:1::', '10.0.0.1', 'private', '6to4'],
    ['2002:7f00:1::1', '127.0.0.1', 'loopback', '6to4'],
    // Teredo: the client address is stored inverted (RFC 4380): ~0x7f000001 = 0x80fffffe.
    ['2001:0:4136:e378:8000:63bf:80ff:fffe', '127.0.0.1', 'loopback', 'Teredo client'],
    ['2001:0:a00:1::1', '10.0.0.1', 'private', 'Teredo server'],
  ])('refuses %s, which embeds %s (%s, %s)', (address, embedded, rule) => {
    const v = classifyAddress(address);
    expect(v?.rule).toContain(rule);
    expect(v?.embedded).toBe(embedded);
  });

  it('refuses the local-use NAT64 prefix whole', () => {
    expect(classifyAddress('64:ff9b:1::808:808')?.rule).toBe('local-use NAT64');
    expect(classifyAddress('64:ff9b:1:ffff::1')?.rule).toBe('local-use NAT64');
  });

  it.each([
    '93.184.215.14',
    '8.8.8.8',
    '172.32.0.1',
    '100.128.0.1',
    '2606:4700:4700::1111',
    '::ffff:8.8.8.8',
    '::ffff:0:808:808',
    '64:ff9b::808:808',
    '2002:808:808::1',
    '2001:0:808:808:8000:63bf:f7f7:f7f7',
  ])('passes the public address %s', (address) => {
    expect(classifyAddress(address)).toBeNull();
  });

  it('calls a non-address what it is', () => {
    expect(classifyAddress('example.com')?.rule).toBe('not an IP address');
  });
});

describe('allow entries', () => {
  it('accepts hosts, host:port, addresses and CIDRs', () => {
    expect(() =>
      checkAllowEntries([
        'api.internal',
        '127.0.0.1',
        '127.0.0.1:8123',
        '[::1]:80',
        '10.0.0.0/8',
        'fd00::/8',
      ]),
    ).not.toThrow();
  });

  it.each(['', '10.0.0.0/33', 'nonsense/8', 'a b', 'host:99999', 'http://x'])('refuses %j', (entry) => {
    expect(() => checkAllowEntries([entry])).toThrow(RangeError);
  });
});

const fixed =
  (answers: Record<string, string[]>): Resolver =>
  async (host) => {
    const list = answers[host];
    if (!list) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return list.map((address): LookupAddress => ({ address, family: address.includes(':') ? 6 : 4 }));
  };

describe('write-time check', () => {
  const resolve = fixed({ 'inside.test': ['10.0.0.5'], 'meta.test': ['::ffff:169.254.169.254'] });

  it('names the rule and how to widen it', async () => {
    const p = new OutboundPolicy({ resolve });
    expect(await p.problem(new URL('http://inside.test/x'))).toBe(
      'resolves to 10.0.0.5, a private address; allow it with --outbound-allow',
    );
    expect(await p.problem(new URL('http://127.0.0.1:9/'))).toBe(
      '127.0.0.1 is a loopback address; allow it with --outbound-allow',
    );
    expect(await p.problem(new URL('http://[::ffff:a9fe:a9fe]/'))).toMatch(
      /^::ffff:a9fe:a9fe embeds 169\.254\.169\.254, a link-local/,
    );
    expect(await p.problem(new URL('http://meta.test/'))).toMatch(/resolves to .* embeds 169\.254\.169\.254/);
    expect(await p.problem(new URL('http://localhost:8080/'))).toMatch(/loopback/);
    expect(await p.problem(new URL('http://0x7f.1/'))).toMatch(/127\.0\.0\.1 is a loopback/);
    expect(await p.problem(new URL('file:///etc/passwd'))).toMatch(/scheme file:/);
    expect(await p.problem(new URL('http://u:p@inside.test/'))).toMatch(/credentials/);
  });

  it('lets a name that does not resolve now through (the connect-time check still holds)', async () => {
    const p = new OutboundPolicy({ resolve });
    expect(await p.problem(new URL('https://weather.internal/'))).toBeNull();
    const slow = new OutboundPolicy({ resolve: () => new Promise(() => {}), resolveTimeoutMs: 50 });
    expect(await slow.problem(new URL('https://slow.test/'))).toBeNull();
  });

  it('is widened by host, host:port, address and CIDR', async () => {
    const url = new URL('http://inside.test:8123/');
    expect(await new OutboundPolicy({ resolve, allow: ['inside.test'] }).problem(url)).toBeNull();
    expect(await new OutboundPolicy({ resolve, allow: ['inside.test:8123'] }).problem(url)).toBeNull();
    expect(await new OutboundPolicy({ resolve, allow: ['inside.test:8124'] }).problem(url)).not.toBeNull();
    expect(await new OutboundPolicy({ resolve, allow: ['10.0.0.5'] }).problem(url)).toBeNull();
    expect(await new OutboundPolicy({ resolve, allow: ['10.0.0.0/8'] }).problem(url)).toBeNull();
    expect(await new OutboundPolicy({ resolve, allow: ['192.168.0.0/16'] }).problem(url)).not.toBeNull();
    const p = new OutboundPolicy({ resolve });
    p.allow(['127.0.0.1:9']);
    expect(await p.problem(new URL('http://127.0.0.1:9/'))).toBeNull();
    expect(await p.problem(new URL('http://127.0.0.1:10/'))).not.toBeNull();
  });
});

describe('connect-time guard', () => {
  let hits = 0;
  const server = createServer((_req, res) => {
    hits++;
    res.end('ok');
  });
  let port = 0;
  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  async function get(policy: OutboundPolicy, url: string): Promise<{ status?: number; error?: unknown }> {
    const agent = policy.agent();
    try {
      const res = await request(url, { dispatcher: agent });
      await res.body.text();
      return { status: res.statusCode };
    } catch (error) {
      return { error };
    } finally {
      await agent.close();
    }
  }

  it('refuses a loopback literal before dialling, and dials it once allowed', async () => {
    const before = hits;
    const refused = await get(new OutboundPolicy(), `http://127.0.0.1:${port}/`);
    expect(outboundRefusal(refused.error)?.message).toMatch(/127\.0\.0\.1 is a loopback address/);
    expect(hits).toBe(before);
    const ok = await get(new OutboundPolicy({ allow: ['127.0.0.1'] }), `http://127.0.0.1:${port}/`);
    expect(ok.status).toBe(200);
    expect(hits).toBe(before + 1);
  });

  it('judges the address the socket dials, not an earlier DNS answer (rebinding)', async () => {
    // The name resolves to nothing at write time, then to loopback when the socket dials.
    let calls = 0;
    const rebinding: Resolver = async () => {
      calls++;
      if (calls === 1) throw Object.assign(new Error('ENOTFOUND'), { code: 'ENOTFOUND' });
      return [{ address: '127.0.0.1', family: 4 }];
    };
    const policy = new OutboundPolicy({ resolve: rebinding });
    expect(await policy.problem(new URL(`http://rebind.test:${port}/`))).toBeNull();
    const before = hits;
    const refused = await get(policy, `http://rebind.test:${port}/`);
    expect(outboundRefusal(refused.error)?.message).toBe(
      'refused by the outbound policy: rebind.test resolves to 127.0.0.1, a loopback address',
    );
    expect(hits).toBe(before);
    const allowed = new OutboundPolicy({ resolve: rebinding, allow: ['127.0.0.0/8'] });
    expect((await get(allowed, `http://rebind.test:${port}/`)).status).toBe(200);
    expect(hits).toBe(before + 1);
  });

  it('refuses every address of a name when one of them is refused', async () => {
    const policy = new OutboundPolicy({
      resolve: async () => [
        { address: '::1', family: 6 },
        { address: '127.0.0.1', family: 4 },
      ],
      allow: ['127.0.0.1'],
    });
    const before = hits;
    const refused = await get(policy, `http://two.test:${port}/`);
    expect(outboundRefusal(refused.error)?.message).toMatch(/::1, a loopback address/);
    expect(hits).toBe(before);
  });
});
