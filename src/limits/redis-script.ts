/**
 * The Lua scripts of RedisLimits. ADMIT is token-bucket.ts and MemoryLimits.admit ported line
 * for line, run atomically by Redis: every throttle and the quota are read, and all are written
 * only if all pass — no read-then-write race between gateway nodes.
 *
 * ADMIT
 *   KEYS[1..n]  bucket hashes {t = tokens (%.17g, exact round trip), a = at ms}
 *   KEYS[n+1]   quota counter (string integer), present only with a quota
 *   ARGV[1] now ms (used when ARGV[2] ~= '1')   ARGV[2] '1' = use the server's TIME
 *   ARGV[3] n   ARGV[4+2(i-1)] rate_i   ARGV[5+2(i-1)] burst_i
 *   then, with a quota: limit, windowEnd, mode ('b' block | 'c' count), graceMs
 *   → {1, throttleRemaining (-1 = none), used (-1 = no quota), remaining, overage 0/1}
 *   → {2 throttled | 3 quota exceeded, retryAfterMs, used (-1 = no quota), remaining}
 * Keys expire: a bucket when it would be full again (+1 s), a counter graceMs after its window.
 */

const EPS = '1e-9';
const MAX_RETRY = '86400000';

/**
 * Token-bucket arithmetic shared by ADMIT and the lease scripts (lease-script.ts):
 * `bucket(key, rate, burst, now, cur, at)` reads a bucket once per script (cached in cur/at)
 * and returns its refilled tokens; `retryAfter(tk, rate, burst)` is token-bucket.ts's
 * retryAfterMs. One copy, so the two scripts can never disagree on a bucket.
 */
export const BUCKET_LUA = `
local function bucket(key, rate, burst, now, cur, at)
  if cur[key] == nil then
    local st = redis.call('HMGET', key, 't', 'a')
    if st[1] then
      cur[key] = tonumber(st[1])
      at[key] = tonumber(st[2])
    else
      cur[key] = burst
      at[key] = now
    end
  end
  local tk = cur[key]
  if now > at[key] then tk = tk + (rate * (now - at[key])) / 1000 end
  if tk > burst then tk = burst end
  return tk
end
local function retryAfter(tk, rate, burst)
  if not (rate > 0) or burst + ${EPS} < 1 then return ${MAX_RETRY} end
  local ra = math.ceil(((1 - ${EPS} - tk) * 1000) / rate)
  if ra > ${MAX_RETRY} then ra = ${MAX_RETRY} end
  return ra
end
`;

export const ADMIT_LUA = `${BUCKET_LUA}
local n = tonumber(ARGV[3])
local now
if ARGV[2] == '1' then
  if redis.replicate_commands then pcall(redis.replicate_commands) end
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
else
  now = tonumber(ARGV[1])
end
local cur = {}
local at = {}
local retry = 0
local throttled = false
for i = 1, n do
  local k = KEYS[i]
  local rate = tonumber(ARGV[2 + 2 * i])
  local burst = tonumber(ARGV[3 + 2 * i])
  local tk = bucket(k, rate, burst, now, cur, at)
  if tk + ${EPS} < 1 then
    throttled = true
    local ra = retryAfter(tk, rate, burst)
    if ra > retry then retry = ra end
  end
end
local qk = KEYS[n + 1]
local used = -1
local limit, wend, mode, grace
if qk then
  local b = 4 + 2 * n
  limit = tonumber(ARGV[b])
  wend = tonumber(ARGV[b + 1])
  mode = ARGV[b + 2]
  grace = tonumber(ARGV[b + 3])
  used = tonumber(redis.call('GET', qk) or '0')
  if mode == 'b' and used + 1 > limit then
    local ra = wend - now
    if ra < 0 then ra = 0 end
    return {3, ra, used, math.max(0, limit - used)}
  end
end
if throttled then
  if qk then return {2, retry, used, math.max(0, limit - used)} end
  return {2, retry, -1, -1}
end
local remaining = -1
for i = 1, n do
  local k = KEYS[i]
  local rate = tonumber(ARGV[2 + 2 * i])
  local burst = tonumber(ARGV[3 + 2 * i])
  local tk = cur[k]
  if now > at[k] then
    tk = tk + (rate * (now - at[k])) / 1000
    at[k] = now
  end
  if tk > burst then tk = burst end
  tk = tk - 1
  cur[k] = tk
  redis.call('HSET', k, 't', string.format('%.17g', tk), 'a', string.format('%.17g', at[k]))
  local ttl = 1000
  if tk < burst then
    if rate > 0 then ttl = ttl + math.ceil(((burst - tk) * 1000) / rate) else ttl = ${MAX_RETRY} end
  end
  redis.call('PEXPIRE', k, ttl)
  local w = 0
  if tk > 0 then w = math.floor(tk + ${EPS}) end
  if remaining < 0 or w < remaining then remaining = w end
end
if not qk then return {1, remaining, -1, -1, 0} end
used = redis.call('INCR', qk)
local ttl = wend - now
if ttl < 0 then ttl = 0 end
redis.call('PEXPIRE', qk, ttl + grace)
if used > limit then return {1, remaining, used, 0, 1} end
return {1, remaining, used, limit - used, 0}
`;

/** KEYS[1] counter → decrements it, never below 0. */
export const REFUND_LUA = `
local v = tonumber(redis.call('GET', KEYS[1]) or '0')
if v > 0 then return redis.call('DECR', KEYS[1]) end
return 0
`;

/** KEYS[1] counter, ARGV[1] used, ARGV[2] ttl ms, ARGV[3] '1' = only raise → sets it. */
export const SET_USED_LUA = `
local v = tonumber(ARGV[1])
if ARGV[3] == '1' then
  local old = tonumber(redis.call('GET', KEYS[1]) or '0')
  if old >= v then return old end
end
redis.call('SET', KEYS[1], string.format('%d', v), 'PX', ARGV[2])
return v
`;

/** KEYS[1] counter, ARGV[1] units to add, ARGV[2] ttl ms → the new count (reconciling fail-open admits). */
export const ADD_USED_LUA = `
local v = redis.call('INCRBY', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return v
`;
