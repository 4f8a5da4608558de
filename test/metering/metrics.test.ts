import { describe, expect, it } from 'vitest';
import { createMetrics, type Meter, outcomeOf } from '../../src/metering/index.js';

describe('prometheus metrics', () => {
  it('exposes the issue-named metrics and counts requests by API, route and outcome', async () => {
    const m = createMetrics();
    m.observeRequest('api_1', 'rte_1', 200, 0.004);
    m.observeRequest('api_1', 'rte_1', 201, 0.006);
    m.observeRequest('api_1', 'rte_1', 429, 0.0001);
    m.observeRequest('', '', 404, 0.0001);
    m.upstreamErrors.labels('api_1', 'timeout').inc();
    m.limitsUnavailable.labels('open').inc();
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
});
