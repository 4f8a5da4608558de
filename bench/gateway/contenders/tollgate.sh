#!/usr/bin/env bash
# Tollgate as a contender: configure a fresh SQLite store through its admin API (provider, API
# with prefix /v1 -> UPSTREAM, plan throttled at RATE_PER_SEC, consumer, subscription, the
# bench key imported), then exec `tollgate serve` on PORT. TOLLGATE_DIR = a built checkout
# (run.sh sets it). METERING=off|batched|strict.
# NODE_CMD (default node) e.g. "node --cpu-prof --cpu-prof-dir=/tmp/prof".
set -euo pipefail
: "${TOLLGATE_DIR:?set TOLLGATE_DIR to a built tollgate checkout}" "${METERING:=batched}"
data="$RUN_DIR/tollgate-$PORT-$METERING"; rm -rf "$data"; mkdir -p "$data"
tok=tga_bench_token_0123456789abcdef
cport=$((PORT + 2000)); gport=$((PORT + 3000))
# The upstream is on loopback, which the outbound policy refuses unless allowed.
up=${UPSTREAM#*://}; up=${up%%/*}
common=(--database-url "sqlite:$data/tollgate.db" --data-dir "$data" --admin-token "$tok" --log-level warn --outbound-allow "$up")
node "$TOLLGATE_DIR/bin/tollgate.js" serve "${common[@]}" --gateway-port "$gport" --console-port "$cport" > "$data/setup.log" 2>&1 &
pid=$!
for _ in $(seq 200); do curl -sf -o /dev/null "http://127.0.0.1:$cport/admin/v1/openapi.json" && break; sleep 0.1; done
api() { curl -sf -H "authorization: Bearer $tok" -H 'content-type: application/json' -d "$2" "http://127.0.0.1:$cport/admin/v1/$1"; }
id() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).id))'; }
prv=$(api providers '{"name":"Bench"}' | id)
apiid=$(api apis "{\"providerId\":\"$prv\",\"name\":\"Ping\",\"upstreamUrl\":\"$UPSTREAM\",\"pathPrefix\":\"/v1\"}" | id)
burst=$(( RATE_PER_SEC > 1000000 ? 1000000 : RATE_PER_SEC ))
plan=$(api plans "{\"providerId\":\"$prv\",\"name\":\"Bench\",\"apiIds\":[\"$apiid\"],\"throttle\":{\"rateLimit\":$RATE_PER_SEC,\"burstLimit\":$burst}}" | id)
con=$(api consumers "{\"providerId\":\"$prv\",\"name\":\"Load\"}" | id)
sub=$(api subscriptions "{\"consumerId\":\"$con\",\"planId\":\"$plan\"}" | id)
api keys:import "{\"subscriptionId\":\"$sub\",\"value\":\"$API_KEY\"}" > /dev/null
kill -TERM $pid; wait $pid || true
exec ${NODE_CMD:-node} "$TOLLGATE_DIR/bin/tollgate.js" serve "${common[@]}" --gateway-port "$PORT" --console-port "$cport" --gateway-host 127.0.0.1 --metering "$METERING"
