/** The address policy alone (no browser): ranges, embedded IPv4, allow-list, guarded DNS. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { makeAgent } from '../../src/apis/capture/fetcher.js';
import { addressProblem, checkUrl, makeHostPolicy, RefusedError } from '../../src/apis/capture/ssrf.js';

describe('addressProblem', () => {
  it.each([
    ['10.0.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.0.10', 'private'],
    ['127.0.0.1', 'loopback'],
    ['127.255.0.3', 'loopback'],
    ['169.254.169.254', 'link-local'],
    ['100.100.100.200', 'CGNAT'],
    ['0.0.0.0', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['fd00:ec2::254', 'unique-local'],
    ['fe80::1%eth0', 'link-local'],
    ['ff02::1', 'multicast'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:a9fe:a9fe', 'link-local'],
    ['64:ff9b::10.0.0.1', 'private'],
    ['2002:a00:1::', 'private'],
  ])('refuses %s (%s)', (address, kind) => {
    expect(addressProblem(address)).toContain(kind);
  });

  it.each([
    '93.184.215.14',
    '8.8.8.8',
    '172.32.0.1',
    '2606:4700:4700::1111',
    '::ffff:8.8.8.8',
    '64:ff9b::808:808',
  ])('allows the public address %s', (address) => {
    expect(addressProblem(address)).toBeNull();
  });
});

describe('checkUrl and the guarded agent', () => {
  it('refuses loopback names unless the exact host is allow-listed', async () => {
    await expect(checkUrl(makeHostPolicy(), new URL('http://localhost/'))).rejects.toBeInstanceOf(
      RefusedError,
    );
    await expect(checkUrl(makeHostPolicy(['127.0.0.1']), new URL('http://localhost/'))).rejects.toThrow(
      /localhost resolves to/,
    );
    const ok = await checkUrl(makeHostPolicy(['LocalHost.']), new URL('http://localhost/'));
    expect(ok.length).toBeGreaterThan(0);
    await expect(checkUrl(makeHostPolicy(), new URL('file:///etc/passwd'))).rejects.toThrow(/scheme/);
  });

  it('checks the address at connect time, so the socket never opens to a refused host', async () => {
    let hits = 0;
    const server = createServer((_req, res) => {
      hits++;
      res.end('ok');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const guarded = makeAgent(makeHostPolicy());
    const allowed = makeAgent(makeHostPolicy(['localhost']));
    try {
      const err = await request(`http://localhost:${port}/`, { dispatcher: guarded }).catch(
        (e: unknown) => e,
      );
      expect(JSON.stringify((err as Error & { cause?: unknown }).cause ?? err) + String(err)).toMatch(
        /ESSRF|non-public|loopback/,
      );
      expect(hits).toBe(0);
      const res = await request(`http://localhost:${port}/`, { dispatcher: allowed });
      expect(await res.body.text()).toBe('ok');
      expect(hits).toBe(1);
    } finally {
      await guarded.close();
      await allowed.close();
      server.close();
    }
  });
});
