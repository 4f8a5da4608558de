/**
 * An API's timeout answers 504 within 50 ms of its configured value, measured on the
 * gateway's own clock: the observer is told how long each call took from its arrival (which
 * precedes the upstream dispatch), so `observed − timeoutMs` bounds how late the 504 left.
 * A loaded machine delays every timer, this one too: the event loop's own delay over the
 * same period is measured beside it and allowed for, so the bound is on the gateway, not on
 * the scheduler — and it still fails a timer that ticks at 0.5 s (0.1–0.58 s late).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedApi, seedKey, seedPlan, seedProvider, seedSubscription } from '../helpers/seed.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';
import { type Harness, startHarness } from './harness.js';

const TIMEOUT_MS = 300;
const BOUND_MS = 50;

describe('gateway: API timeouts', () => {
  let h: Harness;
  let up: Upstream;
  let key = '';
  const observed: Array<{ status: number; ms: number }> = [];

  beforeAll(async () => {
    up = await startUpstream((_req, res) => {
      setTimeout(() => res.end('late'), 3_000).unref(); // never in time
    });
    h = await startHarness({
      observer: {
        request: (_api, _route, status, seconds) => observed.push({ status, ms: seconds * 1000 }),
        limitsUnavailable() {},
      },
    });
    const prv = await seedProvider(h.store);
    const { apiId } = await seedApi(h.store, prv, up.url, { pathPrefix: '/slow', timeoutMs: TIMEOUT_MS });
    const plan = await seedPlan(h.store, prv, [apiId], {});
    key = (await seedKey(h.store, (await seedSubscription(h.store, plan)).subscriptionId)).value;
    await h.snapshots.refresh();
  });
  afterAll(async () => {
    await h?.close();
    await up?.close();
  });

  it(`answers 504 never early and within ${BOUND_MS} ms of timeoutMs (beyond the event loop's own delay)`, async () => {
    const lag = monitorEventLoopDelay({ resolution: 5 });
    lag.enable();
    for (let i = 0; i < 7; i++) {
      const res = await h.call('/slow/x', { key });
      await res.arrayBuffer();
      expect(res.status).toBe(504);
    }
    lag.disable();
    expect(observed.map((o) => o.status)).toEqual(Array(7).fill(504));
    const late = observed.map((o) => o.ms - TIMEOUT_MS).sort((a, b) => a - b);
    const loopDelayMs = lag.percentile(50) / 1e6;
    expect(late[0]).toBeGreaterThanOrEqual(-1); // timers may round down by < 1 ms
    // The median call: its lateness beyond the loop's median delay (the scheduler's share).
    expect(
      late[3]! - loopDelayMs,
      `late: ${late.map((l) => l.toFixed(1)).join(', ')}; loop delay ${loopDelayMs.toFixed(1)} ms`,
    ).toBeLessThan(BOUND_MS);
  });
});
