/**
 * Token bucket, pure (no I/O, no clock): the arithmetic both backends share, so the memory
 * backend and the Redis Lua script (redis-script.ts, a line-for-line port) agree to the bit.
 *
 * A bucket holds `tokens` as of instant `at` (ms). It refills at `rate` tokens/s up to `burst`:
 *   tokens(now) = min(burst, tokens + rate · (now − at) / 1000)
 * A request is admitted when tokens(now) ≥ 1 and spends one token. An absent bucket is full.
 * This is API Gateway's model ("the burst is the maximum bucket size", rate = tokens added per
 * second): https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html
 *
 * Time never runs backwards for a bucket: a `now` before `at` refills nothing and leaves `at`.
 */

/** Floating-point slack so that waiting exactly `retryAfterMs` always admits. */
export const TOKEN_EPSILON = 1e-9;
/** Retry hint ceiling (a bucket with rate 0 or burst < 1 never refills to one token). */
export const MAX_RETRY_MS = 86_400_000;

/** Tokens in a bucket at `now`. */
export function tokensAt(tokens: number, at: number, rate: number, burst: number, now: number): number {
  const dt = now - at;
  const t = dt > 0 ? tokens + (rate * dt) / 1000 : tokens;
  return Math.min(t, burst);
}

/** Whether a bucket holding `tokens` can pay for one request. */
export function canSpend(tokens: number): boolean {
  return tokens + TOKEN_EPSILON >= 1;
}

/** Milliseconds until a bucket holding `tokens` holds one token (0 if it already does). */
export function retryAfterMs(tokens: number, rate: number, burst: number): number {
  if (canSpend(tokens)) return 0;
  if (!(rate > 0) || burst + TOKEN_EPSILON < 1) return MAX_RETRY_MS;
  const ms = Math.ceil(((1 - TOKEN_EPSILON - tokens) * 1000) / rate);
  return Math.min(ms, MAX_RETRY_MS);
}

/**
 * Milliseconds until a bucket holding `tokens` is full again (when it can be forgotten). A
 * bucket with rate 0 never refills: it is forgotten MAX_RETRY_MS after its last spend (the
 * wait a refusal announces), as the Redis scripts let its key expire — so a rate-0 plan
 * admits `burst` calls per day of disuse on every backend, and memory stays bounded.
 */
export function msUntilFull(tokens: number, rate: number, burst: number): number {
  if (tokens >= burst) return 0;
  if (!(rate > 0)) return MAX_RETRY_MS;
  return Math.ceil(((burst - tokens) * 1000) / rate);
}

/** Whole tokens left, as reported to callers (`RateLimit: remaining`). */
export function wholeTokens(tokens: number): number {
  return tokens <= 0 ? 0 : Math.floor(tokens + TOKEN_EPSILON);
}
