#!/usr/bin/env bash
# What a new user does on a busy machine, end to end: clone into a temp dir,
# `npm ci`, `npm start` until the HTTP API answers and the first command it
# suggests completes, stop it, then `npm test` -- all with a CPU load beside it.
#
#   scripts/fresh-run.sh [--runs N] [--load N] [--cold] [--no-test]
#
#   --runs N   how many fresh runs (default 1); each gets its own clone and ports
#   --load N   busy processes beside the run (default: one per core)
#   --cold     an empty tool cache too, so the Temporal CLI and versitygw are built
#              with `go install` as on a machine that never ran courier (minutes)
#   --no-test  stop after `npm start` worked (for a quick look)
#
# Not part of `npm test`: one run takes about as long as the suite itself.
# Clones what is committed on HEAD of this checkout.
set -uo pipefail

runs=1 load=$(nproc) cold=0 test=1
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --load) load=$2; shift 2 ;;
    --cold) cold=1; shift ;;
    --no-test) test=0; shift ;;
    *) echo "usage: $0 [--runs N] [--load N] [--cold] [--no-test]" >&2; exit 2 ;;
  esac
done

repo=$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
now() { date +%s; }

load_pids=()
start_load() { for _ in $(seq "$load"); do (while :; do :; done) & load_pids+=($!); done; }
stop_load() { [ ${#load_pids[@]} -gt 0 ] && kill "${load_pids[@]}" 2>/dev/null; wait "${load_pids[@]}" 2>/dev/null; load_pids=(); }
start_pid=
cleanup() { stop_load; [ -n "$start_pid" ] && kill -KILL -- "-$start_pid" 2>/dev/null; }
trap cleanup EXIT INT TERM

one_run() {
  # Runs in a subshell, which does not inherit the EXIT trap: stop a started npm start on any way out.
  trap '[ -n "$start_pid" ] && kill -KILL -- "-$start_pid" 2>/dev/null' EXIT
  local n=$1 dir; dir=$(mktemp -d "${TMPDIR:-/tmp}/courier-fresh-XXXXXX")
  local log="$dir/run.log" t0 t1 t2 t3 t4
  git clone -q "$repo" "$dir/courier" || return 1
  cd "$dir/courier" || return 1
  echo "run $n: $dir (commit $(git rev-parse --short HEAD), load $load busy processes on $(nproc) cores)"
  export COURIER_DATA_DIR="$dir/data" TEMPORAL_ADDRESS="127.0.0.1:$(free_port)" COURIER_HTTP_PORT
  COURIER_HTTP_PORT=$(free_port)
  export COURIER_DEV_SERVER_UI_PORT; COURIER_DEV_SERVER_UI_PORT=$(free_port)
  [ "$cold" = 1 ] && export XDG_CACHE_HOME="$dir/cache"

  t0=$(now)
  npm ci --no-audit --no-fund >"$dir/npm-ci.log" 2>&1 || { echo "run $n: npm ci failed, see $dir/npm-ci.log"; return 1; }
  t1=$(now)
  setsid npm start >"$log" 2>&1 &
  start_pid=$!
  local deadline=$(( $(now) + 900 ))
  until grep -q 'courier is ready' "$log"; do
    if ! kill -0 "$start_pid" 2>/dev/null || [ "$(now)" -gt "$deadline" ]; then
      echo "run $n: npm start did not become ready; its output ends:"; tail -20 "$log"; return 1
    fi
    sleep 1
  done
  t2=$(now)
  curl -fsS "http://127.0.0.1:$COURIER_HTTP_PORT/healthz" >"$dir/healthz.json" || { echo "run $n: /healthz did not answer"; return 1; }
  # The command the banner suggests, exactly as printed.
  local first; first=$(sed -n 's/^ *try first *\(npx courier .*--wait\).*/\1/p' "$log" | head -1)
  [ -n "$first" ] || { echo "run $n: the banner suggests no first command"; return 1; }
  $first >"$dir/first-command.log" 2>&1 || { echo "run $n: '$first' failed:"; cat "$dir/first-command.log"; return 1; }
  t3=$(now)
  kill -TERM -- "-$start_pid"
  local code=0; wait "$start_pid" || code=$?
  start_pid=
  # npm reports the child's SIGTERM exit as 143 on some versions; anything else is a failed stop.
  if [ "$code" != 0 ] && [ "$code" != 143 ]; then echo "run $n: npm start exited $code on SIGTERM"; tail -20 "$log"; return 1; fi
  if node -e "require('net').connect(${TEMPORAL_ADDRESS##*:},'127.0.0.1').on('connect',()=>process.exit(0)).on('error',()=>process.exit(1))"; then
    echo "run $n: the dev server still listens after npm start stopped"; return 1
  fi
  echo "run $n: npm ci $((t1 - t0)) s, npm start ready in $((t2 - t1)) s, first command $((t3 - t2)) s"
  if [ "$test" = 1 ]; then
    unset COURIER_DATA_DIR TEMPORAL_ADDRESS COURIER_HTTP_PORT COURIER_DEV_SERVER_UI_PORT
    npm test >"$dir/npm-test.log" 2>&1; code=$?
    t4=$(now)
    echo "run $n: npm test exited $code in $((t4 - t3)) s: $(grep -E '^# (pass|fail) ' "$dir/npm-test.log" | tr '\n' ' ')"
    [ "$code" = 0 ] || { grep -E '^not ok|^    not ok' "$dir/npm-test.log" | head; echo "run $n: see $dir/npm-test.log"; return 1; }
  fi
  cd / && rm -rf "$dir"
}

passed=0
for n in $(seq "$runs"); do
  start_load
  if (one_run "$n"); then passed=$((passed + 1)); fi
  stop_load
done
echo "fresh runs: $passed passed, $((runs - passed)) failed"
[ "$passed" = "$runs" ]
