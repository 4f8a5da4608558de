/**
 * The Lua scripts of LeasedLimits (leased.ts). LEASE is ADMIT (redis-script.ts) generalised
 * from one unit to a block of up to `want` units, taken all-or-nothing from every throttle and
 * the quota of one request in one atomic step:
 *
 *   k = min(want, ⌊tokens_i⌋ for every bucket i, limit − used for a blocking quota)
 *
 * k ≥ 1 spends k tokens from every bucket and INCRBYs the counter by k (the caller serves the
 * first unit at once and keeps k − 1 locally); k < 1 refuses exactly as ADMIT would. A block
 * of k > 1 with a quota is recorded in a sorted set (member lease id, score = when its unused
 * units will have come back at the latest) so that a quota refusal can say "units held by
 * live leases return within N ms" instead of "wait for the next window".
 *
 * Both scripts first SETTLE (give back) a finished lease: `back` unused units go back to every
 * bucket (capped at burst) and to the counter (never below 0), and its id leaves the set.
 *
 * LEASE
 *   KEYS[1..n] buckets; with a quota KEYS[n+1] counter and KEYS[n+2] lease set
 *   ARGV[1] now ms   ARGV[2] '1' = use the server's TIME   ARGV[3] n
 *   ARGV[4+2(i-1)] rate_i   ARGV[5+2(i-1)] burst_i
 *   with a quota: limit, windowEnd, mode ('b' | 'c'), graceMs
 *   then: want, leaseId, holdMs, settleId ('' = none), back
 *   → {1, throttleRemaining (-1 = none), used after the block (-1 = no quota), k}
 *   → {2 throttled | 3 quota exceeded, retryAfterMs, used (-1 = no quota), remaining}
 * GIVE (settle only): same KEYS and ARGV[1..3+2n], then settleId, back → k given back.
 */

import { BUCKET_LUA } from './redis-script.js';

const EPS = '1e-9';
const MAX_RETRY = '86400000';

const PRELUDE = `
local n = tonumber(ARGV[3])
local now
if ARGV[2] == '1' then
  if redis.replicate_commands then pcall(redis.replicate_commands) end
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
else
  now = tonumber(ARGV[1])
end
local qk = KEYS[n + 1]
local lk = KEYS[n + 2]
local function store(k, tk, at, rate, burst)
  redis.call('HSET', k, 't', string.format('%.17g', tk), 'a', string.format('%.17g', at))
  local ttl = 1000
  if tk < burst then
    if rate > 0 then ttl = ttl + math.ceil(((burst - tk) * 1000) / rate) else ttl = ${MAX_RETRY} end
  end
  redis.call('PEXPIRE', k, ttl)
end
local function settle(id, back)
  if back > 0 then
    for i = 1, n do
      local k = KEYS[i]
      local rate = tonumber(ARGV[2 + 2 * i])
      local burst = tonumber(ARGV[3 + 2 * i])
      local st = redis.call('HMGET', k, 't', 'a')
      if st[1] then
        local tk = tonumber(st[1])
        local at = tonumber(st[2])
        if now > at then
          tk = tk + (rate * (now - at)) / 1000
          at = now
        end
        if tk > burst then tk = burst end
        tk = tk + back
        if tk > burst then tk = burst end
        store(k, tk, at, rate, burst)
      end
    end
    if qk then
      local v = tonumber(redis.call('GET', qk) or '0')
      if v > 0 then redis.call('DECRBY', qk, math.min(v, back)) end
    end
  end
  if qk then redis.call('ZREM', lk, id) end
end
`;

export const LEASE_LUA = `${PRELUDE}${BUCKET_LUA}
local b = 4 + 2 * n
local limit, wend, mode, grace
if qk then
  limit = tonumber(ARGV[b])
  wend = tonumber(ARGV[b + 1])
  mode = ARGV[b + 2]
  grace = tonumber(ARGV[b + 3])
  b = b + 4
end
local want = tonumber(ARGV[b])
local leaseId = ARGV[b + 1]
local hold = tonumber(ARGV[b + 2])
if ARGV[b + 3] ~= '' then settle(ARGV[b + 3], tonumber(ARGV[b + 4])) end

local k = want
local cur = {}
local at = {}
local retry = 0
local throttled = false
for i = 1, n do
  local key = KEYS[i]
  local rate = tonumber(ARGV[2 + 2 * i])
  local burst = tonumber(ARGV[3 + 2 * i])
  local tk = bucket(key, rate, burst, now, cur, at)
  if tk + ${EPS} < 1 then
    throttled = true
    local ra = retryAfter(tk, rate, burst)
    if ra > retry then retry = ra end
  else
    local w = math.floor(tk + ${EPS})
    if w < k then k = w end
  end
end
local used = -1
if qk then
  used = tonumber(redis.call('GET', qk) or '0')
  if mode == 'b' then
    if used + 1 > limit then
      local ra = wend - now
      if ra < 0 then ra = 0 end
      redis.call('ZREMRANGEBYSCORE', lk, '-inf', now)
      local first = redis.call('ZRANGE', lk, 0, 0, 'WITHSCORES')
      if first[2] then
        local back = tonumber(first[2]) - now
        if back < ra then ra = back end
      end
      return {3, ra, used, math.max(0, limit - used)}
    end
    if limit - used < k then k = limit - used end
  end
end
if throttled then
  if qk then return {2, retry, used, math.max(0, limit - used)} end
  return {2, retry, -1, -1}
end
local remaining = -1
for i = 1, n do
  local key = KEYS[i]
  local rate = tonumber(ARGV[2 + 2 * i])
  local burst = tonumber(ARGV[3 + 2 * i])
  local tk = cur[key]
  if now > at[key] then
    tk = tk + (rate * (now - at[key])) / 1000
    at[key] = now
  end
  if tk > burst then tk = burst end
  tk = tk - k
  cur[key] = tk
  store(key, tk, at[key], rate, burst)
  local w = 0
  if tk > 0 then w = math.floor(tk + ${EPS}) end
  if remaining < 0 or w < remaining then remaining = w end
end
if not qk then return {1, remaining, -1, k} end
used = redis.call('INCRBY', qk, k)
local ttl = wend - now
if ttl < 0 then ttl = 0 end
redis.call('PEXPIRE', qk, ttl + grace)
if k > 1 then
  redis.call('ZADD', lk, now + hold, leaseId)
  redis.call('PEXPIRE', lk, hold)
end
return {1, remaining, used, k}
`;

export const GIVE_LUA = `${PRELUDE}
local b = 4 + 2 * n
settle(ARGV[b], tonumber(ARGV[b + 1]))
return tonumber(ARGV[b + 1])
`;
