/**
 * Tables owned by the metering module (migration 002_metering). Same conventions as
 * ../schema.ts: ms times as integers, counters as integers, no NULL inside a primary key
 * (an absent id in a rejection is stored as '').
 */

/** Rejected requests (403/429/404/502/504…), hourly, for analytics. Never billed. */
export interface RejectionTable {
  api_id: string;
  route_id: string;
  subscription_id: string;
  key_id: string;
  /** FORBIDDEN | THROTTLED | QUOTA_EXCEEDED | NO_ROUTE | BAD_PATH | UPSTREAM_ERROR | UPSTREAM_TIMEOUT | LIMITS_UNAVAILABLE */
  code: string;
  /** Start of the UTC hour, ms. */
  hour: number;
  count: number;
}

/**
 * One row per metering node (a gateway process identity). `epoch` counts its starts and goes
 * into batch ids; `seq` is the highest strict-log sequence already in `usage` (replay skips
 * everything at or below it). Updated in the same transaction as the usage it covers.
 */
export interface MeterCheckpointTable {
  node: string;
  epoch: number;
  seq: number;
  updated_at: number;
}

/** Usage alerts already sent: one row per (subscription, kind, window, threshold). */
export interface UsageAlertTable {
  subscription_id: string;
  /** `quota` or `spend`. */
  kind: string;
  window_start: number;
  window_end: number;
  /** Percent: 50, 80 or 100. */
  threshold: number;
  /** Decimal text (request count for quota, money for spend). */
  used: string;
  limit_value: string;
  sent_at: number;
}

export interface MeteringTables {
  rejections: RejectionTable;
  meter_checkpoints: MeterCheckpointTable;
  usage_alerts: UsageAlertTable;
}
