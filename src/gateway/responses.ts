/**
 * What the gateway itself answers, byte-compatible with API Gateway's default gateway
 * responses (reference §1.6): 403 `{"message":"Forbidden"}`, 429 `{"message":"Too Many
 * Requests"}` for throttling and `{"message":"Limit Exceeded"}` for a spent quota. Both 429s
 * carry `Retry-After` (RFC 9110 §10.2.3, whole seconds) and the IETF RateLimit fields
 * (draft-ietf-httpapi-ratelimit-headers: `RateLimit-Policy: "name";q=…;w=…` and
 * `RateLimit: "name";r=…;t=…`).
 */
import type { ServerResponse } from 'node:http';
import { MAX_RETRY_MS } from '../limits/index.js';

export const BODY = {
  forbidden: '{"message":"Forbidden"}',
  throttled: '{"message":"Too Many Requests"}',
  quota: '{"message":"Limit Exceeded"}',
  notFound: '{"message":"Not Found"}',
  badRequest: '{"message":"Bad Request"}',
  badGateway: '{"message":"Bad Gateway"}',
  timeout: '{"message":"Endpoint request timed out"}',
  unavailable: '{"message":"Service Unavailable"}',
  payloadTooLarge: '{"message":"Request Too Long"}',
} as const;

export function sendJson(
  res: ServerResponse,
  status: number,
  body: string,
  requestId: string,
  extra?: Record<string, string>,
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'x-request-id': requestId,
    'x-amzn-errortype': errorType(status, body),
    ...extra,
  });
  res.end(body);
}

function errorType(status: number, body: string): string {
  if (status === 403) return 'ForbiddenException';
  if (status === 429) return body === BODY.quota ? 'LimitExceededException' : 'TooManyRequestsException';
  if (status === 404) return 'NotFoundException';
  if (status === 400) return 'BadRequestException';
  if (status === 504) return 'EndpointTimeoutException';
  return 'InternalServerErrorException';
}

export interface LimitHeaders {
  retryAfterMs: number;
  policy: 'throttle' | 'quota';
  /** throttle: burst capacity / quota: the window's limit */
  quota: number;
  /** throttle: 1 s / quota: window length in seconds */
  windowSeconds: number;
  remaining: number;
  resetSeconds: number;
}

export function limitHeaders(h: LimitHeaders): Record<string, string> {
  const retry = Math.max(1, Math.ceil(h.retryAfterMs / 1000));
  return {
    'retry-after': String(retry),
    'ratelimit-policy': `"${h.policy}";q=${h.quota};w=${h.windowSeconds}`,
    ratelimit: `"${h.policy}";r=${Math.max(0, Math.floor(h.remaining))};t=${Math.max(0, Math.ceil(h.resetSeconds))}`,
  };
}

/**
 * The `RateLimit` field of an admitted call, one item per item of the plan's policy: tokens
 * left in the throttle bucket and seconds until it is full again; quota left in the window
 * and seconds until the window ends.
 */
export function rateLimitField(
  throttle: { rate: number; burst: number } | null,
  quota: boolean,
  left: { throttleRemaining: number; quotaRemaining?: number | undefined; windowEnd?: number },
  now: number,
): string {
  let out = '';
  if (throttle && Number.isFinite(left.throttleRemaining)) {
    const r = Math.max(0, Math.floor(left.throttleRemaining));
    // A bucket with rate 0 never refills: the limits backends forget it a day after its last spend.
    const full =
      throttle.rate > 0 ? Math.ceil(Math.max(0, throttle.burst - r) / throttle.rate) : MAX_RETRY_MS / 1000;
    out = `"throttle";r=${r};t=${r >= throttle.burst ? 0 : full}`;
  }
  if (quota && left.quotaRemaining !== undefined && left.windowEnd !== undefined) {
    const item = `"quota";r=${Math.max(0, Math.floor(left.quotaRemaining))};t=${Math.max(0, Math.ceil((left.windowEnd - now) / 1000))}`;
    out = out ? `${out}, ${item}` : item;
  }
  return out;
}
