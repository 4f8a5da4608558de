/**
 * Faults that are handled without reaching a caller (a background sweep that failed, a
 * best-effort flush, a retry scheduled for later) must still be seen: each is logged with
 * its `site` and counted, and `/metrics` exposes the counts as
 * `tollgate_faults_total{site}`.
 *
 * The counts are process-wide, not a dependency handed down: a fault can happen in any
 * module, including those below the metrics (limits, store), and a process has one set of
 * counts whatever registry formats them. Counting is a Map update, so a fault on the hot
 * path costs no more than its log line.
 */
import type { Logger } from './logger.js';

const counts = new Map<string, number>();

/**
 * Logs `err` at error level with `site` and `fields`, and counts it under `site`
 * (a stable dotted name such as `limits.lease_sweep`: it becomes a metric label).
 */
export function reportFault(
  log: Logger,
  site: string,
  err: unknown,
  message: string,
  fields: Record<string, unknown> = {},
): void {
  counts.set(site, (counts.get(site) ?? 0) + 1);
  log.error({ err, site, ...fields }, message);
}

/** The counts so far, by site (for the metrics registry and tests). */
export function faultCounts(): ReadonlyMap<string, number> {
  return counts;
}
