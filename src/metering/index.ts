/**
 * Metering: usage events → hourly aggregates → the store, exactly once (strict) or within a
 * documented loss window (batched); reports, quota views, usage alerts and Prometheus
 * metrics over the same numbers. See docs/metering.md.
 */

export { HOUR_MS, hourOf } from './aggregate.js';
export {
  createUsageAlerts,
  type SpendStatus,
  type UsageAlert,
  type UsageAlerts,
  type UsageAlertsOptions,
} from './alerts.js';
export type { FlushFaults } from './batch.js';
export { type GetUsageResult, getUsage } from './getusage.js';
export { createMeter, type MeterOptions, offMeter } from './meter.js';
export {
  createMetrics,
  type MetricsJson,
  type Outcome,
  outcomeOf,
  type TollgateMetrics,
} from './metrics.js';
export {
  type RejectionGroup,
  type RejectionQuery,
  type RejectionReportRow,
  rejectionReport,
  toCsv,
  toJson,
  type UsageGroup,
  type UsageQuery,
  type UsageReportRow,
  usageReport,
} from './reports.js';
export type {
  Durability,
  FlushedRow,
  Meter,
  MeteringMetrics,
  RejectionCode,
  RejectionEvent,
  UsageEvent,
} from './types.js';
export {
  bucketStart,
  type Granularity,
  isTimeZone,
  localDate,
  nextBucket,
  type QuotaPeriod,
  type Window,
} from './windows.js';
