/**
 * The synthetic warm-up a gateway runs before it listens (src/gateway/warmup.ts): its calls
 * take the whole request path — key, limits, proxy over a real loopback socket to its own
 * upstream, the answer relayed — and it leaves nothing behind: no open port, no metering.
 */
import { getActiveResourcesInfo } from 'node:process';
import { describe, expect, it } from 'vitest';
import { warmUp } from '../../src/gateway/index.js';
import { createMetrics } from '../../src/metering/index.js';
import { silentLogger, systemClock } from '../../src/shared/index.js';

describe('gateway warm-up', () => {
  it('makes its calls through the proxied path, all answered 200 by its own upstream, and closes everything', async () => {
    const statuses = new Map<number, number>();
    const before = getActiveResourcesInfo().filter(
      (r) => r === 'TCPServerWrap' || r === 'TCPSocketWrap',
    ).length;
    const metrics = createMetrics();
    const done = await warmUp({
      calls: 300,
      concurrency: 8,
      budgetMs: 50_000, // a loaded machine: the count, not the clock, ends this one
      clock: systemClock,
      log: silentLogger,
      upstream: { connectTimeoutMs: 5_000, headersTimeoutMs: 30_000, bodyTimeoutMs: 60_000, connections: 8 },
      observer: {
        request(apiId, _route, status) {
          expect(apiId).toBe('api_warmup');
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
          metrics.observeRequest(apiId, '', status, 0);
        },
        limitsUnavailable() {
          throw new Error('the warm-up limits are in memory');
        },
      },
    });
    expect(done.calls).toBe(300);
    expect([...statuses]).toEqual([[200, 300]]);
    // Every listener and socket it opened is closed again.
    const tcp = () => getActiveResourcesInfo().filter((r) => r === 'TCPServerWrap' || r === 'TCPSocketWrap');
    for (let i = 0; i < 50 && tcp().length > before; i++) await new Promise((r) => setTimeout(r, 20));
    expect(tcp().length).toBe(before);
  }, 90_000);

  it('stops at its time budget', async () => {
    const done = await warmUp({
      calls: 1_000_000,
      budgetMs: 300,
      clock: systemClock,
      log: silentLogger,
      upstream: { connectTimeoutMs: 5_000, headersTimeoutMs: 30_000, bodyTimeoutMs: 60_000, connections: 8 },
      observer: { request() {}, limitsUnavailable() {} },
    });
    expect(done.calls).toBeLessThan(1_000_000);
    expect(done.ms).toBeLessThan(10_000);
  }, 60_000);
});
