/**
 * Prometheus metrics of the data plane (prom-client), served by the console at `/metrics`.
 * One registry per process (tests make their own). The gateway records each request through
 * observeRequest() into plain per-route numbers (request-stats.ts: no histogram object on the
 * hot path), which the registry formats at scrape time; the metering gauges read the attached
 * meter when scraped. With `others` (the workers of `serve --workers N`, src/main/cluster-metrics.ts)
 * a scrape is this registry plus theirs, every series summed (AggregatorRegistry.aggregate).
 */
import {
  AggregatorRegistry,
  Counter,
  collectDefaultMetrics,
  Gauge,
  Histogram,
  type MetricObjectWithValues,
  type MetricValue,
  Registry,
} from 'prom-client';
import { faultCounts } from '../shared/index.js';
import { offMeter } from './meter.js';
import { RequestStats } from './request-stats.js';
import type { Meter } from './types.js';

/** The `outcome` label: status class, with the gateway's own denials singled out. */
export type Outcome = '2xx' | '3xx' | '4xx' | '403' | '429' | '5xx';

export function outcomeOf(status: number): Outcome {
  if (status === 403) return '403';
  if (status === 429) return '429';
  if (status >= 500) return '5xx';
  if (status >= 400) return '4xx';
  if (status >= 300) return '3xx';
  return '2xx';
}

/** A registry's metrics as JSON (prom-client's getMetricsAsJSON), as another process sends them. */
export type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];

export interface TollgateMetrics {
  registry: Registry;
  /**
   * tollgate_requests_total{api,route,outcome} and tollgate_request_duration_seconds{api,route}
   * (arrival to response head, as the gateway sees it), fed by observeRequest().
   */
  requestStats: RequestStats;
  /** tollgate_upstream_errors_total{api,kind}: kind `error` (→ 502) or `timeout` (→ 504). */
  upstreamErrors: Counter<'api' | 'kind'>;
  /** tollgate_metering_queue_depth: strict-mode events waiting for fsync. */
  meteringQueueDepth: Gauge;
  /** tollgate_metering_flush_seconds: duration of successful flushes. */
  meteringFlushSeconds: Histogram;
  /** tollgate_metering_unflushed_events: billable events not yet in the store. */
  meteringUnflushedEvents: Gauge;
  /** tollgate_limits_unavailable_total{failure_mode}: limit-store outages met by requests (open/closed). */
  limitsUnavailable: Counter<'failure_mode'>;
  /** Counts one request and its duration. `api`/`route` may be '' (no route matched). */
  observeRequest(api: string, route: string, status: number, seconds: number): void;
  /** Gauges read this meter's metrics at scrape time; its flush durations feed the histogram. Idempotent. */
  attachMeter(meter: Meter): void;
  /** Text exposition for `/metrics` (with `others`: the sum over this process and them). */
  scrape(): Promise<string>;
  readonly contentType: string;
}

export function createMetrics(
  options: { defaultMetrics?: boolean; others?: () => Promise<MetricsJson[]> } = {},
): TollgateMetrics {
  const registry = new Registry();
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: 'tollgate_' });
  let meter: Meter = offMeter();
  const registers = [registry];
  const others = options.others;

  const requestStats = new RequestStats();
  registry.registerMetric(
    customMetric('tollgate_requests_total', 'counter', REQUESTS_HELP, () => requestStats.counterValues()),
  );
  registry.registerMetric(
    customMetric('tollgate_request_duration_seconds', 'histogram', DURATION_HELP, () =>
      requestStats.histogramValues('tollgate_request_duration_seconds'),
    ),
  );
  registry.registerMetric(
    customMetric('tollgate_faults_total', 'counter', FAULTS_HELP, () =>
      [...faultCounts()].map(([site, value]) => ({ value, labels: { site } })),
    ),
  );
  const upstreamErrors = new Counter({
    name: 'tollgate_upstream_errors_total',
    help: 'Upstream failures: kind=error (connection refused/reset, answered 502) or timeout (504).',
    labelNames: ['api', 'kind'] as const,
    registers,
  });
  const meteringQueueDepth = new Gauge({
    name: 'tollgate_metering_queue_depth',
    help: 'Strict durability: usage events waiting for their group write and fsync.',
    registers,
    collect() {
      this.set(meter.metrics.queueDepth);
    },
  });
  const meteringFlushSeconds = new Histogram({
    name: 'tollgate_metering_flush_seconds',
    help: 'Duration of metering flushes (one store transaction per batch).',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers,
  });
  const meteringUnflushedEvents = new Gauge({
    name: 'tollgate_metering_unflushed_events',
    help: 'Billable usage events recorded in memory but not yet committed to the store.',
    registers,
    collect() {
      this.set(meter.metrics.unflushedEvents);
    },
  });
  const limitsUnavailable = new Counter({
    name: 'tollgate_limits_unavailable_total',
    help: 'Requests that met an unreachable throttle/quota store, by the failure mode applied (open or closed).',
    labelNames: ['failure_mode'] as const,
    registers,
  });

  return {
    registry,
    requestStats,
    upstreamErrors,
    meteringQueueDepth,
    meteringFlushSeconds,
    meteringUnflushedEvents,
    limitsUnavailable,
    observeRequest(api, route, status, seconds) {
      requestStats.observe(api, route, status, seconds);
    },
    attachMeter(m) {
      if (meter === m) return;
      meter = m;
      m.onFlush?.((seconds) => {
        if (meter === m) meteringFlushSeconds.observe(seconds);
      });
    },
    scrape: others ? () => scrapeWith(registry, others) : () => registry.metrics(),
    contentType: registry.contentType,
  };
}

const REQUESTS_HELP =
  'Requests handled by the gateway, by API, route and outcome (2xx, 3xx, 4xx, 403, 429, 5xx).';
const FAULTS_HELP =
  'Faults handled without reaching a caller (each also logged at error level with its site), by site.';
const DURATION_HELP = 'Time from request arrival to the response head, by API and route.';

async function scrapeWith(own: Registry, others: () => Promise<MetricsJson[]>): Promise<string> {
  const [mine, theirs] = await Promise.all([own.getMetricsAsJSON() as Promise<MetricsJson>, others()]);
  return AggregatorRegistry.aggregate([mine, ...theirs]).metrics();
}

/** A metric whose values are computed at scrape time, in the shape prom-client's registry formats. */
function customMetric(
  name: string,
  type: 'counter' | 'histogram',
  help: string,
  values: () => Array<{ value: number; labels: Record<string, string | number>; metricName?: string }>,
): Parameters<Registry['registerMetric']>[0] {
  const metric = {
    name,
    help,
    type,
    aggregator: 'sum',
    get: async () => ({ name, help, type, aggregator: 'sum', values: values() }),
    reset: () => {},
  };
  return metric as unknown as Parameters<Registry['registerMetric']>[0];
}
