/**
 * What a step of the request path answers: `CONTINUE` (go on to the next step) or a
 * `Denial`, a value saying how the gateway refuses the call. Every refusal — a bad path, no
 * route, a wrong key, a throttle, a spent quota, the licence ceiling, an upstream that
 * failed — is rendered by the one `deny()` of server.ts: counted in the metrics, recorded as
 * a rejection when it has a code, answered with API Gateway's status, body and
 * `x-amzn-errortype` (responses.ts).
 */
import type { RejectionCode } from '../metering/index.js';
import { BODY, limitHeaders } from './responses.js';

export class Denial {
  constructor(
    readonly status: number,
    readonly body: string,
    /** Recorded as a rejection (analytics, never billed); null: not recorded. */
    readonly code: RejectionCode | null,
    /** Extra response fields (Retry-After, RateLimit, Vary…). */
    readonly headers: Record<string, string> | undefined = undefined,
  ) {}
}

export const CONTINUE = null;
export type Verdict = Denial | typeof CONTINUE;

/** The refusals that carry nothing of the call: built once. */
export const DENIED = {
  badPath: new Denial(400, BODY.badRequest, 'BAD_PATH'),
  noRoute: new Denial(404, BODY.notFound, 'NO_ROUTE'),
  forbidden: new Denial(403, BODY.forbidden, 'FORBIDDEN'),
  /** A preflight from an origin the API does not allow: unmetered, like every preflight. */
  preflightForbidden: new Denial(403, BODY.forbidden, null, { vary: 'Origin' }),
  limitsUnavailable: new Denial(503, BODY.unavailable, 'LIMITS_UNAVAILABLE', { 'retry-after': '1' }),
  upstreamError: new Denial(502, BODY.badGateway, 'UPSTREAM_ERROR'),
  upstreamTimeout: new Denial(504, BODY.timeout, 'UPSTREAM_TIMEOUT'),
} as const;

/** A throttle bucket is empty: `burst` is the bucket's capacity. */
export function throttled(retryAfterMs: number, burst: number, remaining = 0): Denial {
  return new Denial(
    429,
    BODY.throttled,
    'THROTTLED',
    limitHeaders({
      retryAfterMs,
      policy: 'throttle',
      quota: burst,
      windowSeconds: 1,
      remaining,
      resetSeconds: retryAfterMs / 1000,
    }),
  );
}

/** The quota of the window is spent (`limit` over `windowSeconds`). */
export function quotaExceeded(
  retryAfterMs: number,
  limit: number,
  windowSeconds: number,
  remaining: number,
): Denial {
  return new Denial(
    429,
    BODY.quota,
    'QUOTA_EXCEEDED',
    limitHeaders({
      retryAfterMs,
      policy: 'quota',
      quota: limit,
      windowSeconds,
      remaining,
      resetSeconds: retryAfterMs / 1000,
    }),
  );
}

/** The buyer's own spend cap is reached: refused like a spent quota until `until` (ms). */
export function spendCapped(until: number, now: number): Denial {
  return new Denial(429, BODY.quota, 'QUOTA_EXCEEDED', {
    'retry-after': String(Math.ceil((until - now) / 1000)),
  });
}

/** A wholesale deployment whose licence does not allow serving (not a caller's doing: unrecorded). */
export function notServing(refusal: { status: number; body: { message: string } }): Denial {
  return new Denial(refusal.status, JSON.stringify(refusal.body), null);
}
