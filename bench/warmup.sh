#!/usr/bin/env bash
# Warm-up of a freshly started gateway: its first FIRST s of load against its steady rate.
#
#   npm run build && bench/warmup.sh     tollgate-batched without and with the start-up warm-up, 1 start each
#   REPS=3 bench/warmup.sh tollgate-batched tollgate-strict
#   NODE_CMD="node --trace-gc" bench/warmup.sh tollgate-batched     (the contender's log: $RUN_DIR/*.log)
#   NODE_CMD="node --cpu-prof --cpu-prof-dir=DIR" bench/warmup.sh tollgate-batched
#   REPS=3 bench/warmup.sh tollgate-batched-cold tollgate-batched   without and with the start-up warm-up
#
# Each contender of CONTENDERS named is started fresh, pinned to CPU 1 (GW_CPUS),
# and loaded by wrk on CPU 0 (with the nginx upstream, as in bench/gateway/run.sh) in back-to-back
# wrk runs of 1 s from the moment its port opens (for Tollgate: after its start-up warm-up, which runs
# before it listens), SECONDS_ in all. Per start it reports:
#   wall: req/s over the first FIRST s of load, req/s over the last STEADY s, and their ratio
#         (issue #18's target: >= 0.90 with FIRST=5);
#   CPU:  the same from CPU time instead of wall time -- requests served while the contender (all its
#         threads: JIT compilers and GC included) used its first FIRST s of CPU, against its steady
#         requests per CPU-second. On a machine shared with other work the wall figures move with
#         whatever else runs on CPU 1; the CPU figures much less (they assume a core of its own).
# Starts interleave contenders (round 1 of each, then round 2, ...). Per-second figures: $RUN_DIR/*.tsv.
# Knobs (env): SECONDS_=40 FIRST=5 STEADY=10 REPS=1 CONNS=50 THREADS=1 GW_CPUS=1 RUN_DIR=/tmp/tollgate-warmup
#              CONTENDERS=bench/warmup.conf (start commands run from bench/gateway/, as in its contenders.conf)
# Needs: nginx, wrk, curl, taskset, setsid (apt-get install -y nginx-light wrk curl util-linux).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
: "${SECONDS_:=40}" "${FIRST:=5}" "${STEADY:=10}" "${REPS:=1}" "${CONNS:=50}" "${THREADS:=1}" "${GW_CPUS:=1}"
: "${RUN_DIR:=/tmp/tollgate-warmup}" "${TOLLGATE_DIR:=$root}" "${CONTENDERS:=$root/bench/warmup.conf}"
export TOLLGATE_DIR RUN_DIR UPSTREAM=http://127.0.0.1:9000 API_KEY=k_live_0123456789abcdef0123
[ -f "$TOLLGATE_DIR/bin/tollgate.js" ] && [ -d "$TOLLGATE_DIR/dist" ] ||
  { echo "no built Tollgate in $TOLLGATE_DIR: npm run build first" >&2; exit 1; }
for tool in nginx wrk curl taskset setsid node; do
  command -v "$tool" > /dev/null || { echo "missing $tool (apt-get install -y nginx-light wrk curl util-linux)" >&2; exit 1; }
done
[ $# -gt 0 ] || set -- tollgate-batched-cold tollgate-batched
harness="$root/bench/gateway"
mkdir -p "$RUN_DIR/upstream/tmp"

pids=()
cleanup() { local p; for p in "${pids[@]}"; do kill -TERM -- "-$p" 2> /dev/null || true; done; wait 2> /dev/null || true; }
trap cleanup EXIT
trap 'exit 130' INT TERM
port_open() { (exec 3<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null; }
stop_group() { # pgid: TERM, 5 s, KILL
  kill -TERM -- "-$1" 2> /dev/null || true
  for _ in $(seq 50); do kill -0 "$1" 2> /dev/null || break; sleep 0.1; done
  kill -KILL -- "-$1" 2> /dev/null || true
  wait "$1" 2> /dev/null || true
}
line_of() { awk -F'|' -v n="$1" '{ k = $1; gsub(/^[ \t]+|[ \t]+$/, "", k) } k == n' "$CONTENDERS"; }
CLK_TCK=$(getconf CLK_TCK)
group_ticks() { # pgid -> utime+stime ticks of every process in the group (all its threads)
  { cat /proc/[0-9]*/stat 2> /dev/null || true; } | awk -v pg="$1" '{ sub(/^.*\) /, ""); if ($3 == pg) t += $12 + $13 } END { print t + 0 }'
}
summary() { # name start file (lines: requests ticks seconds, one per 1-s run) -> a table row
  awk -v name="$1" -v rep="$2" -v first="$FIRST" -v steady="$STEADY" -v hz="$CLK_TCK" '
    { n[NR] = $1; t[NR] = $2 / hz; s[NR] = $3 }
    END {
      w = NR; fn = 0; fs = 0
      for (i = 1; i <= w && fs < first; i++) { fn += n[i]; fs += s[i] }   # wall: the first FIRST s
      sn = 0; ss = 0; st = 0
      for (i = w - steady + 1; i <= w; i++) { sn += n[i]; ss += s[i]; st += t[i] }
      cn = 0; ct = 0                                                      # CPU: the first FIRST CPU-s
      for (i = 1; i <= w; i++) {
        if (ct + t[i] >= first) { cn += t[i] ? n[i] * (first - ct) / t[i] : 0; ct = first; break }
        cn += n[i]; ct += t[i]
      }
      wf = fs ? fn / fs : 0; ws = ss ? sn / ss : 0; cf = ct >= first ? cn / first : 0; cs = st ? sn / st : 0
      printf "| %s | %d | %.0f | %.0f | %.2f | %.0f | %.0f | %s |\n", name, rep, wf, ws, ws ? wf / ws : 0,
        cf, cs, (cs && cf) ? sprintf("%.2f", cf / cs) : "n/a (CPU < " first " s)"
    }' "$3"
}
trim() { sed 's/^[[:space:]]*//; s/[[:space:]]*$//'; }

if port_open 9000; then echo "port 9000 is in use" >&2; exit 1; fi
setsid taskset -c 0 nginx -p "$RUN_DIR/upstream" -c "$harness/conf/upstream.conf" > "$RUN_DIR/upstream.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do port_open 9000 && break; sleep 0.1; done

echo "date: $(date -u +%FT%TZ)  cpus: $(nproc)  load average: $(cut -d' ' -f1-3 /proc/loadavg)  node: $(node -v)"
echo "tollgate: $(git -C "$TOLLGATE_DIR" log -1 --format=%h 2>/dev/null || echo '?')  NODE_CMD: ${NODE_CMD:-node}"
echo "wrk -t$THREADS -c$CONNS on CPU 0, contender on CPU $GW_CPUS, ${SECONDS_} runs of 1 s from the first open port"
echo
echo "| contender | start | first ${FIRST} s req/s | last ${STEADY} s req/s | ratio | req per CPU-s, first ${FIRST} CPU-s | req per CPU-s, last ${STEADY} s | ratio |"
echo '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |'
for ((rep = 1; rep <= REPS; rep++)); do
  for name in "$@"; do
    conf=$(line_of "$name"); [ -n "$conf" ] || { echo "no contender $name" >&2; exit 1; }
    port=$(cut -d'|' -f2 <<< "$conf" | trim); url=$(cut -d'|' -f3 <<< "$conf" | trim)
    header=$(cut -d'|' -f4 <<< "$conf" | trim); cmd=$(cut -d'|' -f5- <<< "$conf" | trim)
    (cd "$harness" && exec setsid taskset -c "$GW_CPUS" env PORT="$port" RATE_PER_SEC=1000000 bash -c "exec $cmd") \
      > "$RUN_DIR/$name-$rep.log" 2>&1 &
    pg=$!; pids+=("$pg")
    for _ in $(seq 600); do port_open "$port" && break; kill -0 "$pg" 2> /dev/null || break; sleep 0.05; done
    port_open "$port" || { echo "$name did not start: $RUN_DIR/$name-$rep.log" >&2; exit 1; }
    per="$RUN_DIR/$name-$rep.tsv"; : > "$per"   # requests, CPU ticks, seconds -- one line per 1-s run
    for ((w = 1; w <= SECONDS_; w++)); do
      t0=$(group_ticks "$pg")
      # wrk's "N requests in X s": X is what this run really lasted
      read -r n secs < <(taskset -c 0 wrk -t"$THREADS" -c"$CONNS" -d1s -H "$header" "$url" |
        awk '/ requests in / { n = $1; s = $4; sub(/,$/, "", s)
               if (s ~ /ms$/) s = s / 1000; else if (s ~ /m$/) s = s * 60; else s = s + 0 }
             END { printf "%d %.3f\n", n, s }')
      t1=$(group_ticks "$pg")
      echo "$n $((t1 - t0)) $secs" >> "$per"
    done
    stop_group "$pg"
    summary "$name" "$rep" "$per"
  done
done
