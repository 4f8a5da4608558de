#!/usr/bin/env bash
# The gateway headline benchmark: builds Tollgate, then runs the harness in bench/gateway/
# (its run.sh header explains the method: each server pinned to one core, wrk on the other,
# interleaved rounds, CPU time per request). Installs nginx-light, wrk, curl and taskset
# with apt-get when they are missing and this runs as root.
#
#   bench/gateway.sh                          every contender of bench/gateway/contenders.conf
#   bench/gateway.sh node-bare tollgate-batched   only those
#   REPS=5 DURATION=10 bench/gateway.sh       knobs: see bench/gateway/run.sh
#   COLD=5 bench/gateway.sh tollgate-batched  also the first 5 s of load on each fresh process
#                                             on their own, against the steady rate (warm-up)
#
# Results: markdown tables on stdout, raw wrk output under $RUN_DIR/results.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for tool in nginx wrk curl taskset; do command -v "$tool" > /dev/null || need+=("$tool"); done
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
    apt-get update -qq && apt-get install -y -qq nginx-light wrk curl util-linux > /dev/null
  else
    echo "missing ${need[*]}: apt-get install -y nginx-light wrk curl util-linux" >&2
    exit 1
  fi
fi

npm run build --silent
exec bench/gateway/run.sh "$@"
