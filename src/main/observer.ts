/** Bridges the gateway's per-request callback to the Prometheus metrics of src/metering. */
import type { GatewayObserver } from '../gateway/index.js';
import type { TollgateMetrics } from '../metering/index.js';

export function metricsObserver(metrics: TollgateMetrics): GatewayObserver {
  return {
    request(apiId, routeId, status, seconds) {
      metrics.observeRequest(apiId, routeId, status, seconds);
      if (status === 502 || status === 504) {
        metrics.upstreamErrors.inc({ api: apiId, kind: status === 504 ? 'timeout' : 'error' });
      }
    },
    limitsUnavailable(failOpen) {
      metrics.limitsUnavailable.inc({ failure_mode: failOpen ? 'open' : 'closed' });
    },
  };
}
