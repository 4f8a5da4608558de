import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createMeter, createMetrics, type Meter, outcomeOf } from '../../src/metering/index.js';
import { ManualClock, reportFault, silentLogger } from '../../src/shared/index.js';
import { sqliteStore } from '../helpers/stores.js';

describe('prometheus metrics', () => {
  it('exposes the metrics docs/metering.md lists and counts requests by API, route and outcome', async () => {
    const m = createMetrics();
    m.observeRequest('api_1', 'rte_1', 200, 0.004);
    m.observeRequest('api_1', 'rte_1', 201, 0.006);
    m.observeRequest('api_1', 'rte_1', 429, 0.0001);
    m.observeRequest('', '', 404, 0.0001);
    m.upstreamErrors.labels('api_1', 'timeout').inc();
    m.limitsUnavailable.labels('open').inc();
    reportFault(silentLogger, 'test.metrics_site', new Error('boom'), 'a handled fault');
    m.meteringFlushSeconds.observe(0.002);
    m.attachMeter({ metrics: { queueDepth: 7, unflushedEvents: 42 } } as unknown as Meter);
    const text = await m.scrape();
    for (const name of [
      'tollgate_requests_total',
      'tollgate_request_duration_seconds',
      'tollgate_upstream_errors_total',
      'tollgate_metering_queue_depth',
      'tollgate_metering_flush_seconds',
      'tollgate_metering_unflushed_events',
      'tollgate_limits_unavailable_total',
      'tollgate_faults_total',
    ]) {
      expect(text).toContain(`# TYPE ${name} `);
    }
    expect(text).toContain('tollgate_requests_total{api="api_1",route="rte_1",outcome="2xx"} 2');
    expect(text).toContain('tollgate_requests_total{api="api_1",route="rte_1",outcome="429"} 1');
    expect(text).toContain('tollgate_requests_total{api="",route="",outcome="4xx"} 1');
    expect(text).toContain(
      'tollgate_request_duration_seconds_bucket{le="0.005",api="api_1",route="rte_1"} 2',
    );
    expect(text).toContain('tollgate_upstream_errors_total{api="api_1",kind="timeout"} 1');
    expect(text).toContain('tollgate_metering_queue_depth 7');
    expect(text).toContain('tollgate_metering_unflushed_events 42');
    expect(text).toContain('tollgate_faults_total{site="test.metrics_site"} 1');
    expect(m.contentType).toContain('text/plain');
  });

  it('maps statuses to outcomes', () => {
    expect([200, 204, 301, 400, 403, 404, 429, 500, 502, 504].map(outcomeOf)).toEqual([
      '2xx',
      '2xx',
      '3xx',
      '4xx',
      '403',
      '4xx',
      '429',
      '5xx',
      '5xx',
      '5xx',
    ]);
  });

  it('observes each flush of an attached meter once, however often it is attached', async () => {
    const store = await sqliteStore.open();
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-metrics-'));
    try {
      const metrics = createMetrics();
      const meter = await createMeter({
        store,
        clock: new ManualClock(),
        log: silentLogger,
        durability: 'strict',
        dataDir: dir,
        node: 'm1',
        flushIntervalMs: 3_600_000,
        metrics,
      });
      metrics.attachMeter(meter);
      const pending = meter.record({
        subscriptionId: 's',
        keyId: 'k',
        apiId: 'a',
        routeId: 'r',
        dimension: 'requests',
        units: 1,
        status: 200,
        bytes: 0,
        latencyMs: 1,
        at: Date.UTC(2026, 0, 1),
        billable: true,
      });
      expect(await metrics.scrape()).toMatch(/tollgate_metering_unflushed_events 1\n/);
      await pending;
      await meter.flush();
      const text = await metrics.scrape();
      expect(text).toContain('tollgate_metering_flush_seconds_count 1');
      expect(text).toMatch(/tollgate_metering_unflushed_events 0\n/);
      expect(text).toMatch(/tollgate_metering_queue_depth 0\n/);
      await meter.close();
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
