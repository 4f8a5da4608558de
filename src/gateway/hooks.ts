/**
 * What the gateway's owner plugs in (src/main): metrics, a wholesale licence, the fail-open
 * ledger. Each has a do-nothing default, so the request path never asks "is there one?".
 */
import type { ThrottleRule } from '../limits/index.js';
import type { OutageLedger } from './quota-sync.js';

/** Hooks for metrics; called once per request with what happened. */
export interface GatewayObserver {
  /** `status` is what the client got (gateway answers included: 400, 403, 404, 429, 502, 504…). */
  request(apiId: string, routeId: string, status: number, seconds: number): void;
  limitsUnavailable(failOpen: boolean): void;
}

/**
 * The licence check of a wholesale deployment (src/licences); absent for a normal install.
 * `current()` is read on every request, so it must be a cheap lookup of the last decision.
 * A licence may carry a deployment-wide rate ceiling, enforced as one more throttle.
 */
export interface ServingGuard {
  current():
    | { serving: true; throttle: ThrottleRule | null }
    | { serving: false; status: number; body: { message: string } };
}

export const NO_OBSERVER: GatewayObserver = {
  request() {},
  limitsUnavailable() {},
};

const SERVING = { serving: true, throttle: null } as const;

/** A normal install: always serving, no ceiling. */
export const ALWAYS_SERVING: ServingGuard = { current: () => SERVING };

/** Without Redis nothing is reconciled after an outage. */
export const NO_LEDGER: OutageLedger = { count() {}, giveBack() {} };
