#!/usr/bin/env bash
# The gateway yardstick: Tollgate beside nginx and the best Node proxies, doing the same job
# (API-key check + per-key rate limit + proxy to a cheap nginx upstream), each pinned to one
# core with wrk (C, not Node) on the other, so the figure is the gateway's own CPU cost per
# request -- not the load generator's.
#
#   bench/gateway.sh                                   # from the project root: build, then every contender
#   bench/gateway.sh node-bare tollgate-batched        # only these, by name
#   bench/gateway/run.sh ...                           # the harness alone, on an existing build
#
# TOLLGATE_DIR (default: the directory you run it from) must hold a built Tollgate
# (bin/tollgate.js + dist/). The harness copies itself to $RUN_DIR/harness (the checkout may be
# read-only) and installs its own node_modules there once.
#
# First each contender is started with a low limit (VERIFY_RATE/s) and checked to do the job (wrong
# and missing key -> 401/403, a fast burst -> some 200 then 429), then stopped. Then REPS rounds; in
# each, every contender in turn is started with a limit that never triggers (BENCH_RATE/s), warmed up
# with WARMUP s of wrk, measured for DURATION s, and stopped. Rounds interleave contenders, so drift
# of the machine's speed hits all alike. Read RATIOS from one run; absolute req/s move +-30 % here.
# Prints markdown tables; raw wrk output and per-run numbers go to $OUT ($RUN_DIR/results by default).
# Needs: nginx, wrk, curl, taskset (apt-get install -y nginx-light wrk curl util-linux), Node >= 20.
# Knobs (env): DURATION=10 WARMUP=3 REPS=3 CONNS=50 THREADS=1 BENCH_RATE=1000000 VERIFY_RATE=5
#              COLD=0 (seconds: when > 0, the first COLD s of load on each freshly started contender
#              are measured on their own before the warm-up, and cold.tsv / the log give cold req/s
#              against the steady run's -- how fast a restarted gateway reaches its best)
#              CONTENDERS=contenders.conf RUN_DIR=/tmp/tollgate-bench OUT=$RUN_DIR/results
#              GW_CPUS=1 (the contender's CPUs; 0,1 lets several gateway workers use both cores,
#              sharing CPU 0 with wrk and the upstream)
set -euo pipefail
: "${TOLLGATE_DIR:=$PWD}"; TOLLGATE_DIR=$(cd "$TOLLGATE_DIR" && pwd); export TOLLGATE_DIR
[ -f "$TOLLGATE_DIR/bin/tollgate.js" ] && [ -d "$TOLLGATE_DIR/dist" ] ||
  { echo "no built Tollgate in $TOLLGATE_DIR: run from the project root after npm run build (or set TOLLGATE_DIR)" >&2; exit 1; }
: "${RUN_DIR:=/tmp/tollgate-bench}"
src=$(cd "$(dirname "$0")" && pwd)
if [ "$src" != "$RUN_DIR/harness" ]; then # run from a writable copy of this folder
  mkdir -p "$RUN_DIR/harness"
  (cd "$src" && tar cf - --exclude=node_modules --exclude=results .) | (cd "$RUN_DIR/harness" && tar xf -)
  exec env RUN_DIR="$RUN_DIR" "$RUN_DIR/harness/run.sh" "$@"
fi
cd "$src"

: "${DURATION:=10}" "${WARMUP:=3}" "${REPS:=3}" "${CONNS:=50}" "${THREADS:=1}"
: "${BENCH_RATE:=1000000}" "${VERIFY_RATE:=5}" "${OUT:=$RUN_DIR/results}"
: "${CONTENDERS:=contenders.conf}" "${GW_CPUS:=1}" "${COLD:=0}"
export UPSTREAM=http://127.0.0.1:9000 API_KEY=k_live_0123456789abcdef0123 RUN_DIR

for tool in nginx wrk curl taskset setsid node; do
  command -v "$tool" > /dev/null || { echo "missing $tool (apt-get install -y nginx wrk curl util-linux)" >&2; exit 1; }
done
[ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error

mkdir -p "$RUN_DIR" "$OUT/raw"
rm -f "$OUT"/raw/*.txt; : > "$OUT/runs.tsv"; : > "$OUT/verify.tsv"; : > "$OUT/log.txt"; : > "$OUT/cold.tsv"
{ # what ran, for the record
  echo "date: $(date -u +%FT%TZ)"; echo "kernel: $(uname -r)"; echo "cpus: $(nproc) x $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)"
  echo "nginx: $(nginx -v 2>&1 | sed 's/.*\///')"; echo "wrk: $(wrk -v 2>&1 | awk 'NR == 1 { print $2 }')"; echo "node: $(node -v)"
  for pkg in undici fastify @fastify/reply-from fast-gateway restana fast-proxy-lite; do
    echo "$pkg: $(node -p "require('./node_modules/$pkg/package.json').version" 2>/dev/null || echo missing)"
  done
  echo "tollgate: $(git -C "$TOLLGATE_DIR" log -1 --format='%h %s' 2>/dev/null || echo '?')"
} > "$OUT/versions.txt"

if [ "$(nproc)" -ge 2 ]; then
  PIN_LOAD=(taskset -c 0); PIN_GW=(taskset -c "$GW_CPUS"); PINNING="contender on CPU $GW_CPUS; wrk + upstream on CPU 0"
else
  PIN_LOAD=(); PIN_GW=(); PINNING="none (only $(nproc) CPU)"
fi
log() { echo "[$(date +%T)] $*" | tee -a "$OUT/log.txt" >&2; }

# ---- processes: each one we start leads its own process group; stopped by that group id only ----
declare -A RUNNING=()   # process group ids we started and have not stopped yet
start_bg() { # logname cmd... -> sets BG_PID (setsid makes it the leader of a new group, same pid)
  local name=$1; shift
  setsid "$@" > "$RUN_DIR/$name.log" 2>&1 &
  BG_PID=$!; RUNNING[$BG_PID]=1
}
alive() { local s; s=$(awk '{ sub(/^.*\) /, ""); print $1 }' "/proc/$1/stat" 2>/dev/null) && [ "$s" != Z ]; }
stop_bg() { # pgid: TERM the group, give it 5 s, KILL what is left of it, reap the leader
  kill -TERM -- "-$1" 2>/dev/null || true
  for _ in $(seq 50); do alive "$1" || break; sleep 0.1; done
  kill -KILL -- "-$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  unset "RUNNING[$1]"
}
cleanup() { local pg; for pg in "${!RUNNING[@]}"; do stop_bg "$pg"; done; }
trap cleanup EXIT
trap 'exit 130' INT TERM

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { # port pid
  for _ in $(seq 300); do
    alive "$2" || return 1
    port_open "$1" && return 0
    sleep 0.1
  done
  return 1
}
start_contender() { # name port rate cmd -> BG_PID
  if port_open "$2"; then log "port $2 is already in use"; return 1; fi
  start_bg "$1-$3" "${PIN_GW[@]}" env PORT="$2" RATE_PER_SEC="$3" bash -c "exec $4"
  if ! wait_port "$2" "$BG_PID"; then log "$1 did not come up; see $RUN_DIR/$1-$3.log"; return 1; fi
}

# ---- measuring ----
CLK_TCK=$(getconf CLK_TCK)
group_ticks() { # pgid -> utime+stime ticks of every process in the group
  cat /proc/[0-9]*/stat 2>/dev/null | awk -v pg="$1" '{ sub(/^.*\) /, ""); if ($3 == pg) t += $12 + $13 } END { print t + 0 }'
}
cpu_times() { # -> "busy0 total0 busy1 total1" ticks from /proc/stat (busy: all but idle and iowait)
  awk '/^cpu[01] / { t = 0; for (i = 2; i <= NF; i++) t += $i; printf "%d %d ", t - $5 - $6, t } END { print "" }' /proc/stat
}
wrk_run() { # url header seconds [extra wrk args]
  "${PIN_LOAD[@]}" wrk -t"$THREADS" -c"$CONNS" -d"$3s" -H "$2" "${@:4}" "$1"
}
parse_wrk() { # wrk --latency output on stdin -> "rps p50_ms p99_ms requests non2xx socket_errors"
  awk 'function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0
                        if (v ~ /m$/) return v * 60000; if (v ~ /s$/) return v * 1000; return v }
       /^ +50%/ { p50 = ms($2) }  /^ +99%/ { p99 = ms($2) }  /Requests\/sec:/ { rps = $2 }
       / requests in / { n = $1 }  /Non-2xx or 3xx responses:/ { bad = $NF }
       /Socket errors:/ { err = $4 + $6 + $8 + $10 }
       END { printf "%.0f %.3f %.3f %d %d %d\n", rps, p50, p99, n, bad, err }'
}

# ---- checking that a contender really does the job (started with RATE_PER_SEC=VERIFY_RATE) ----
codes() { # n url [header] -> one status code per line, n requests on one keep-alive connection
  local n=$1 url=$2 args=()
  [ $# -ge 3 ] && args+=(-H "$3")
  for ((i = 0; i < n; i++)); do args+=(-o /dev/null "$url"); done
  curl -s -w '%{http_code}\n' "${args[@]}" || true
}
verify() { # name url header -> appends to verify.tsv, returns 0 if it did the job
  local name=$1 url=$2 header=$3 wrong missing burst n200 n429 ok=no
  wrong=$(codes 1 "$url" "${header%%:*}: k_live_WRONG_KEY_00000000000")
  missing=$(codes 1 "$url")
  burst=$(codes $((VERIFY_RATE * 4)) "$url" "$header")
  n200=$(grep -c '^200$' <<< "$burst" || true); n429=$(grep -c '^429$' <<< "$burst" || true)
  [[ $wrong =~ ^40[13]$ && $missing =~ ^40[13]$ && $n200 -ge 1 && $n429 -ge 1 ]] && ok=yes
  printf '%s\t%s\twrong key->%s, no key->%s, %d fast requests at %d/s limit->%dx200 %dx429\n' \
    "$name" "$ok" "$wrong" "$missing" $((VERIFY_RATE * 4)) "$VERIFY_RATE" "$n200" "$n429" >> "$OUT/verify.tsv"
  [ $ok = yes ]
}

bench_once() { # rep name port url header cmd -> one line in runs.tsv
  # A freshly started contender (so start-up/JIT luck shows up in min-max), a warm-up, the measured run.
  # With cmd "-" the upstream itself is measured.
  local rep=$1 name=$2 port=$3 url=$4 header=$5 cmd=$6 pg t0 t1 u0 u1 c0 c1 raw wrk_cpu
  if [ "$cmd" = - ]; then pg=$UPSTREAM_PG
  else start_contender "$name" "$port" "$BENCH_RATE" "$cmd" || return 1; pg=$BG_PID; fi
  local cold_rps=
  if [ "$COLD" -gt 0 ]; then # the first COLD s of load on a fresh process, on their own
    wrk_run "$url" "$header" "$COLD" --latency > "$OUT/raw/$name-$rep-cold.txt"
    read -r cold_rps _ < <(parse_wrk < "$OUT/raw/$name-$rep-cold.txt")
  fi
  wrk_run "$url" "$header" "$WARMUP" > /dev/null
  raw="$OUT/raw/$name-$rep.txt"
  t0=$(group_ticks "$pg"); u0=$(group_ticks "$UPSTREAM_PG"); c0=$(cpu_times)
  { TIMEFORMAT='%3U %3S'; time wrk_run "$url" "$header" "$DURATION" --latency > "$raw"; } 2> "$RUN_DIR/wrk-cpu"
  t1=$(group_ticks "$pg"); u1=$(group_ticks "$UPSTREAM_PG"); c1=$(cpu_times)
  [ "$cmd" = - ] || stop_bg "$pg"
  [ "$pg" = "$UPSTREAM_PG" ] && u1=$u0             # direct: the upstream is the contender, count it once
  wrk_cpu=$(tail -1 "$RUN_DIR/wrk-cpu" | awk -v hz="$CLK_TCK" '{ printf "%d", ($1 + $2) * hz }')
  read -r rps p50 p99 n bad err < <(parse_wrk < "$raw")
  # cpu0/cpu1: busy % of each core; other: CPU used by anything but the contender, upstream and wrk,
  # in % of one core -- a few % is normal, much more means something else disturbed the run.
  read -r cpu0 cpu1 other < <(echo "$c0 $c1 $((t1 - t0 + u1 - u0 + wrk_cpu))" |
    awk '{ printf "%.0f %.0f %.0f\n", 100*($5-$1)/($6-$2), 100*($7-$3)/($8-$4), 100*($5-$1+$7-$3-$9)/($6-$2) }')
  us_req=$(awk -v d=$((t1 - t0)) -v n="$n" -v hz="$CLK_TCK" 'BEGIN { printf "%.1f", n ? d * 1e6 / hz / n : 0 }')
  printf '%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$rep" "$rps" "$p50" "$p99" "$bad" "$err" "$us_req" "$cpu0" "$cpu1" "$other" >> "$OUT/runs.tsv"
  if [ -n "$cold_rps" ]; then
    printf '%s\t%d\t%s\t%s\t%s\n' "$name" "$rep" "$cold_rps" "$rps" \
      "$(awk -v c="$cold_rps" -v s="$rps" 'BEGIN { printf "%.2f", s ? c / s : 0 }')" >> "$OUT/cold.tsv"
    log "  $name run $rep: first ${COLD}s $cold_rps req/s = $(tail -1 "$OUT/cold.tsv" | cut -f5) of steady"
  fi
  log "  $name run $rep: $rps req/s  p50 ${p50}ms  p99 ${p99}ms  non-2xx $bad  socket errors $err  gw CPU ${us_req}us/req  cpu0 $cpu0% cpu1 $cpu1% other $other%"
}

# ---- the run (a function, so that editing this file while it runs cannot derail it) ----
main() {
  trim() { local v=$1; v=${v#"${v%%[![:space:]]*}"}; printf '%s' "${v%"${v##*[![:space:]]}"}"; }
  NAMES=(); PORTS=(); URLS=(); HEADERS=(); CMDS=()
  while IFS='|' read -r name port url header cmd || [ -n "$name" ]; do
    name=$(trim "$name"); [[ -z $name || $name == \#* ]] && continue
    if [ $# -gt 0 ] && [[ " $* " != *" $name "* ]]; then continue; fi
    NAMES+=("$name"); PORTS+=("$(trim "$port")"); URLS+=("$(trim "$url")"); HEADERS+=("$(trim "$header")"); CMDS+=("$(trim "$cmd")")
  done < "$CONTENDERS"

  log "pinning: $PINNING; contenders: ${NAMES[*]}"
  mkdir -p "$RUN_DIR/upstream/tmp"
  if port_open 9000; then log "port 9000 is already in use; stop whatever holds it first"; exit 1; fi
  start_bg upstream "${PIN_LOAD[@]}" nginx -p "$RUN_DIR/upstream" -c "$PWD/conf/upstream.conf"
  UPSTREAM_PG=$BG_PID
  wait_port 9000 "$UPSTREAM_PG" || { log "upstream did not start; see $RUN_DIR/upstream.log"; exit 1; }

  log "== job checks (per-key limit ${VERIFY_RATE}/s)"
  for i in "${!NAMES[@]}"; do
    if [ "${CMDS[i]}" = - ]; then
      printf '%s\tn/a\tnothing to check (the upstream itself)\n' "${NAMES[i]}" >> "$OUT/verify.tsv"
    elif start_contender "${NAMES[i]}" "${PORTS[i]}" "$VERIFY_RATE" "${CMDS[i]}"; then
      verify "${NAMES[i]}" "${URLS[i]}" "${HEADERS[i]}" || log "  ${NAMES[i]} FAILED the job check"
      stop_bg "$BG_PID"
    else
      printf '%s\tno\tdid not start\n' "${NAMES[i]}" >> "$OUT/verify.tsv"
    fi
    log "  $(tail -1 "$OUT/verify.tsv" | tr '\t' ' ')"
  done

  # Runs are interleaved (round 1 of every contender, then round 2, ...) so that slow drift of the
  # machine's speed hits all contenders alike instead of whichever happened to run last.
  for ((rep = 1; rep <= REPS; rep++)); do
    log "== round $rep of $REPS (per-key limit ${BENCH_RATE}/s)"
    for i in "${!NAMES[@]}"; do
      bench_once "$rep" "${NAMES[i]}" "${PORTS[i]}" "${URLS[i]}" "${HEADERS[i]}" "${CMDS[i]}" ||
        log "  ${NAMES[i]} did not start for run $rep"
    done
  done

  # ---- report: medians over the runs, ratios of median req/s ----
  node report.js "$OUT" "$PINNING" "wrk -t$THREADS -c$CONNS, ${WARMUP}s warm-up + ${DURATION}s measured, x$REPS" \
    "$VERIFY_RATE" > "$OUT/table.md"
  { echo; echo "Versions and machine:"; echo; sed 's/^/- /' "$OUT/versions.txt"; } >> "$OUT/table.md"
  if [ -s "$OUT/cold.tsv" ]; then
    { echo; echo "First ${COLD} s of load on a fresh process vs the steady run (req/s):"; echo
      echo "| contender | run | first ${COLD} s | steady | ratio |"; echo "| --- | --- | --- | --- | --- |"
      awk -F'\t' '{ printf "| %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5 }' "$OUT/cold.tsv"; } >> "$OUT/table.md"
  fi
  cat "$OUT/table.md"
}

main "$@"
exit
