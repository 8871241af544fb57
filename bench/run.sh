#!/usr/bin/env bash
# bench/run.sh — compare mcd against memcached with bench/loadgen.cc (mcd_loadgen).
#
#   bench/run.sh [--quick] [--compare-self] [--rounds N] [--duration S] [--warmup S]
#                [--scenarios getset,multiget,meta,pipeline,memory] [--order abba|abab]
#                [--out DIR] [SCENARIO[,SCENARIO...]]
#   bench/run.sh --summary DIR/results.jsonl [--compare-self]   (re-print a table)
#
# Scenarios: getset, multiget, meta, pipeline, memory (the default set; meta is multiget's
# workload as 100 pipelined `mg <key> v q O<i>` closed by `mn`); shift (size shift at
# -m 64, hit ratio per 10 s window, ~4 min) and movelat (get latency while pages move,
# ~2.5 min) run only when named: `bench/run.sh shift`, `bench/run.sh shift,movelat`.
#
# Environment:
#   MCD_BIN        mcd daemon          (default: <repo>/build/memcached)
#   MEMCACHED_BIN  reference daemon    (default: /usr/bin/memcached)
#   LOADGEN        mcd_loadgen binary  (default: <repo>/build-bench/bench/mcd_loadgen,
#                                       then <repo>/build/bench/mcd_loadgen)
#   SERVER_ARGS    common server args  (default: "-t 2 -m 1024 -c 4096 -l 127.0.0.1")
#   MOVER_ARGS     server args of shift (default: "-t 2 -m 64 -l 127.0.0.1")
#   MOVELAT_GET_RATIO  share of gets in movelat (default 1: gets only; e.g. 0.9 adds sets)
#
# Nothing is built here. Build the load generator first, e.g.
#   cmake -S . -B build-bench && cmake --build build-bench --target mcd_loadgen
#
# Always exits 0 once the run completes (it is a report); PASS/MISS is printed
# per target. Exits non-zero only for setup failures (missing binaries, a
# server that does not start, a prefill that does not complete).
set -uo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MCD_BIN=${MCD_BIN:-$REPO/build/memcached}
MEMCACHED_BIN=${MEMCACHED_BIN:-/usr/bin/memcached}
SERVER_ARGS=${SERVER_ARGS:--t 2 -m 1024 -c 4096 -l 127.0.0.1}
MOVER_ARGS=${MOVER_ARGS:--t 2 -m 64 -l 127.0.0.1}

QUICK=0
SELF=0
ROUNDS=""
DURATION=""
WARMUP=""
SCENARIOS="getset,multiget,meta,pipeline,memory"
OUT=""
ORDER=abba
SUMMARY_ONLY=""
SCENARIOS_SET=""
ROUNDS_SET=""

usage() { sed -n '2,29p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }

# summarize RESULTS.jsonl SELF(0|1) SCENARIOS — print the tables and PASS/MISS lines.
summarize() {
  if [[ ",$3," =~ ,(getset|multiget|meta|pipeline|memory), ]]; then summarize_load "$@"; fi
  if [[ ",$3," =~ ,(shift|movelat), ]]; then
    python3 "$(dirname "${BASH_SOURCE[0]}")/mover_summary.py" "$1" "$3" "$2"
  fi
}

# summarize_load RESULTS.jsonl SELF(0|1) SCENARIOS — getset, multiget, meta, pipeline and memory.
summarize_load() {
  python3 - "$1" "$2" "$3" <<'PY' 
import json, statistics, sys

allrows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
rows = [r for r in allrows if not r.get("failed")]
failed = [r for r in allrows if r.get("failed")]
self_cmp = sys.argv[2] == "1"
wanted = sys.argv[3].split(",")

def sel(sc, srv):
    return [r for r in rows if r["scenario"] == sc and r["server"] == srv]

def med(xs):
    return statistics.median(xs) if xs else float("nan")

def spread(xs):
    if len(xs) < 2: return 0.0
    m = med(xs)
    return 100.0 * (max(xs) - min(xs)) / m if m else 0.0

def fmt(x, d=0):
    return "n/a" if x != x else f"{x:,.{d}f}"

targets = {"getset": 1.0, "multiget": 1.5, "pipeline": 1.5}
verdicts = []
print()
hdr = f"{'scenario':<9} {'mcd ops/s':>12} {'memcd ops/s':>12} {'ratio':>6} {'paired':>6} {'spread m/M':>11} " \
      f"{'mcd p99us':>10} {'memcd p99us':>11} {'p99 ratio':>9} {'srv cpu us/op m/M':>18} {'ratio':>6} {'errors':>7}"
print(hdr)
print("-" * len(hdr))
key_ratio = {}
for sc in ("getset", "multiget", "meta", "pipeline"):
    a, b = sel(sc, "mcd"), sel(sc, "memcached")
    if not a or not b:
        if sc in wanted:
            print(f"{sc:<9} no results for {'mcd' if not a else 'memcached'} (server or loadgen failed)")
            verdicts.append((f"{sc}: measured", False, "no results"))
        continue
    oa, ob = med([r["ops_per_s"] for r in a]), med([r["ops_per_s"] for r in b])
    pa, pb = med([r["p99_us"] for r in a]), med([r["p99_us"] for r in b])
    # server CPU per request: the counter covers warmup + window; scale requests to that span.
    def cpu_per_op(rs):
        v = []
        for r in rs:
            span_req = r["ops_per_s"] * (r["window_s"] + r.get("warmup_s", 0))
            if span_req > 0: v.append(1e6 * r["server_cpu_s"] / span_req)
        return med(v)
    ca, cb = cpu_per_op(a), cpu_per_op(b)
    errs = sum(r["errors"] + r.get("conns_lost", 0) for r in a + b)
    # paired ratio: median over rounds of mcd/memcached measured in the same round
    by_round = {r["round"]: r["ops_per_s"] for r in b}
    paired = med([r["ops_per_s"] / by_round[r["round"]] for r in a if by_round.get(r["round"])])
    ratio = oa / ob if ob else float("nan")
    pratio = pa / pb if pb else float("nan")
    sp = f"{spread([r['ops_per_s'] for r in a]):.0f}%/{spread([r['ops_per_s'] for r in b]):.0f}%"
    print(f"{sc:<9} {fmt(oa):>12} {fmt(ob):>12} {ratio:>6.2f} {paired:>6.2f} {sp:>11} {fmt(pa):>10} {fmt(pb):>11} "
          f"{pratio:>9.2f} {fmt(ca,1) + '/' + fmt(cb,1):>18} {ca / cb if cb else float('nan'):>6.2f} {errs:>7}")
    if sc in ("multiget", "meta"):
        ka, kb = med([r["keys_per_s"] for r in a]), med([r["keys_per_s"] for r in b])
        key_ratio[sc] = ka / kb if kb else float("nan")
        hr = med([r["hit_ratio"] for r in a + b])
        print(f"{'  keys/s':<9} {fmt(ka):>12} {fmt(kb):>12} {key_ratio[sc]:>6.2f}   hit ratio {hr:.3f}")
    if sc == "meta":
        # The meta target is relative: at least the classic multiget ratio of the same run.
        if "multiget" in key_ratio:
            km = key_ratio["multiget"]
            verdicts.append((f"meta: keys/s mcd/memcached >= multiget's ({km:.2f})",
                             key_ratio["meta"] >= km, f"{key_ratio['meta']:.2f}"))
    else:
        t = targets[sc]
        verdicts.append((f"{sc}: throughput mcd/memcached >= {t}", ratio >= t, f"{ratio:.2f}"))
    if sc == "getset":
        verdicts.append(("getset: p99 mcd <= memcached", pratio <= 1.0, f"{pratio:.2f}"))
    if errs:
        verdicts.append((f"{sc}: no errors", False, str(errs)))

a, b = sel("memory", "mcd"), sel("memory", "memcached")
if "memory" in wanted and not (a and b):
    verdicts.append(("memory: measured", False, "no results"))
if a and b:
    def per_item(rs, net):
        v = []
        for r in rs:
            if r["curr_items"] > 0:
                v.append((r["rss"] - (r["idle_rss"] if net else 0)) / r["curr_items"])
        return med(v)
    print()
    print(f"{'memory':<22} {'mcd':>12} {'memcached':>12} {'ratio':>6}")
    print("-" * 55)
    for label, key in (("idle RSS (MiB)", "idle_rss"), ("RSS after fill (MiB)", "rss")):
        xa, xb = med([r[key] for r in a]) / 2**20, med([r[key] for r in b]) / 2**20
        print(f"{label:<22} {xa:>12.1f} {xb:>12.1f} {xa / xb if xb else float('nan'):>6.2f}")
    ia, ib = med([r["curr_items"] for r in a]), med([r["curr_items"] for r in b])
    print(f"{'curr_items':<22} {ia:>12,.0f} {ib:>12,.0f}")
    for label, net in (("RSS bytes/item", False), ("(RSS-idle) bytes/item", True)):
        xa, xb = per_item(a, net), per_item(b, net)
        r_ = xa / xb if xb else float("nan")
        print(f"{label:<22} {xa:>12.1f} {xb:>12.1f} {r_:>6.2f}")
        # 3% tolerance: RSS of the same binary varied by up to ~2-4% between runs (page granularity,
        # hash growth timing); see docs/benchmarks.md
        verdicts.append((f"memory: {label} mcd <= memcached (+3% tolerance)", r_ <= 1.03, f"{r_:.3f}"))
    fa, fb = med([r["ops_per_s"] for r in a]), med([r["ops_per_s"] for r in b])
    print(f"{'fill sets/s (info)':<22} {fa:>12,.0f} {fb:>12,.0f} {fa / fb if fb else float('nan'):>6.2f}")
    for r in a + b:
        if r["curr_items"] != r["stored"] or not r.get("complete", False):
            print(f"  note: {r['server']} round {r['round']}: stored={r['stored']} curr_items={r['curr_items']}"
                  f" complete={r.get('complete')}")

print()
print("ratio = median(mcd)/median(memcached); paired = median over rounds of the per-round ratio;")
print("spread = (max-min)/median of ops/s across rounds; srv cpu = server CPU time per request")
print("(utime+stime from /proc/PID/stat over warmup+window), insensitive to CPU stolen by others.")
for r in failed:
    print(f"FAILED run: {r['server']} {r['scenario']} round {r['round']} (no loadgen result)")
if failed:
    verdicts.append(("all runs produced a result", False, f"{len(failed)} failed"))
lg = [r["cpu_util"] for r in rows if r["scenario"] != "memory"]
if lg:
    print(f"\nloadgen CPU (fraction of one core during the window): median {med(lg):.2f}, max {max(lg):.2f}")
print()
print("targets" + (" (compare-self: both sides are memcached; this measures noise)" if self_cmp else "") + ":")
for name, ok, val in verdicts:
    print(f"  {'PASS' if ok else 'MISS'}  {name}  ({val})")
PY
}

while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --compare-self) SELF=1 ;;
    --rounds) ROUNDS=$2; ROUNDS_SET=$2; shift ;;
    --duration) DURATION=$2; shift ;;
    --warmup) WARMUP=$2; shift ;;
    --scenarios) SCENARIOS=$2; SCENARIOS_SET=1; shift ;;
    --out) OUT=$2; shift ;;
    --order) ORDER=$2; shift ;;
    --summary) SUMMARY_ONLY=$2; shift ;;
    -h|--help) usage 0 ;;
    -*) echo "run.sh: unknown argument: $1" >&2; usage 2 ;;
    *) SCENARIOS=$1; SCENARIOS_SET=1 ;;
  esac
  shift
done

if [ -n "$SUMMARY_ONLY" ]; then
  # Without scenario names, summarize the scenarios the file holds.
  [ -n "$SCENARIOS_SET" ] ||
    SCENARIOS=$(jq -r .scenario "$SUMMARY_ONLY" | sort -u | paste -sd, -)
  summarize "$SUMMARY_ONLY" "$SELF" "$SCENARIOS"
  exit 0
fi
# shift: rounds, 10 s windows per server and round; movelat: rounds and phase length.
if [ "$QUICK" = 1 ]; then
  ROUNDS=${ROUNDS:-2}; DURATION=${DURATION:-4}; WARMUP=${WARMUP:-1}; MEM_ROUNDS=1
  SHIFT_ROUNDS=${ROUNDS_SET:-1}; SHIFT_WINDOWS=3; MOVELAT_ROUNDS=${ROUNDS_SET:-1}; MOVELAT_S=4
else
  ROUNDS=${ROUNDS:-5}; DURATION=${DURATION:-10}; WARMUP=${WARMUP:-2}; MEM_ROUNDS=2
  SHIFT_ROUNDS=${ROUNDS_SET:-1}; SHIFT_WINDOWS=7; MOVELAT_ROUNDS=${ROUNDS_SET:-3}; MOVELAT_S=10
fi
[ "$SELF" = 1 ] && MCD_BIN=$MEMCACHED_BIN
case "$ORDER" in abba|abab) ;; *) echo "run.sh: --order must be abba or abab" >&2; exit 2 ;; esac

# Order of the two servers in round R: abab = always mcd first; abba = mcd
# first in odd rounds, memcached first in even rounds (cancels position bias).
round_order() {
  if [ "$ORDER" = abba ] && [ $(( $1 % 2 )) = 0 ]; then echo "memcached mcd"; else echo "mcd memcached"; fi
}

# Workload constants (docs/benchmarks.md describes them).
CONNS=50
KEYS=100000
KEY_SIZE=14
VALUE_SIZE=100
MEM_ITEMS=1000000
# shift: fill with 100 B values (600,000 keys overflow -m 64 by ~60%), then read through 4 KB
# values of 100,000 new keys under Zipf(0.99) popularity.
SHIFT_FILL_KEYS=600000
SHIFT_KEYS=100000
SHIFT_ZIPF=0.99
SHIFT_VALUE=4096
SHIFT_INTERVAL=10
# The shift starts at this server uptime (s), after the fill: the automove window (30 s) is then
# full, as in a cache that has run for a while, and a slower fill does not delay or advance the
# first page move relative to the shifted traffic.
SHIFT_START=40
# movelat: a hot set of 250,000 items of 1,000 B, read uniformly by 10 connections, spread over
# ~850 pages of which two thirds of the chunks are free; 15 pages a second move to the pool.
MOVELAT_HOT=250000
MOVELAT_VALUE=1000
MOVELAT_CONNS=10
MOVELAT_RATE=15
# Share of gets in movelat's requests (the rest are sets of hot keys, which allocate in class A).
MOVELAT_GET_RATIO=${MOVELAT_GET_RATIO:-1}

if [ -z "${LOADGEN:-}" ]; then
  for c in "$REPO/build-bench/bench/mcd_loadgen" "$REPO/build/bench/mcd_loadgen"; do
    if [ -x "$c" ]; then LOADGEN=$c; break; fi
  done
fi
die() { echo "run.sh: $*" >&2; exit 1; }
[ -n "${LOADGEN:-}" ] && [ -x "$LOADGEN" ] ||
  die "mcd_loadgen not found; build it: cmake -S $REPO -B $REPO/build-bench && cmake --build $REPO/build-bench --target mcd_loadgen (or set LOADGEN)"
[ -x "$MCD_BIN" ] || die "MCD_BIN not executable: $MCD_BIN"
[ -x "$MEMCACHED_BIN" ] || die "MEMCACHED_BIN not executable: $MEMCACHED_BIN"
command -v jq >/dev/null || die "jq is required"
command -v python3 >/dev/null || die "python3 is required (summary table)"
command -v ss >/dev/null || die "ss (iproute2) is required"

if [ -z "$OUT" ]; then OUT="$REPO/bench/results/$(date +%Y%m%d-%H%M%S)"; fi
mkdir -p "$OUT" || die "cannot create $OUT"
RESULTS="$OUT/results.jsonl"
: > "$RESULTS"
CLK_TCK=$(getconf CLK_TCK)
USER_ARGS=()
[ "$(id -u)" = 0 ] && USER_ARGS=(-u nobody)

# ------------------------------------------------------------ processes --
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do
    [ -n "$p" ] || continue
    kill -TERM "$p" 2>/dev/null
  done
  for p in "${PIDS[@]}"; do
    [ -n "$p" ] || continue
    local i
    for i in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null
    wait "$p" 2>/dev/null
  done
  PIDS=()
}
trap cleanup EXIT
trap 'echo "run.sh: interrupted" >&2; exit 130' INT TERM

port_free() { [ -z "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]; }

# mc_cmd PORT CMD — send one text command (plus quit), print the reply.
mc_cmd() {
  timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/$0 || exit 1; printf "%s\r\nquit\r\n" "$1" >&3; cat <&3' "$1" "$2" 2>/dev/null | tr -d '\r'
}
mc_stat() { mc_cmd "$1" stats | awk -v k="$2" '$1=="STAT" && $2==k {print $3}'; }

# start_server NAME BIN [ARGS] -> sets SRV_PID, SRV_PORT (ARGS: default $SERVER_ARGS)
start_server() {
  local name=$1 bin=$2 args=${3:-$SERVER_ARGS} attempt port pid i lpid
  for attempt in 1 2 3 4 5 6 7 8; do
    port=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
    port_free "$port" || continue
    # shellcheck disable=SC2086
    "$bin" $args -p "$port" "${USER_ARGS[@]}" >>"$OUT/$name.log" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    for i in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      # The listener must be the process we started, or its direct child
      # (MCD_BIN may be a wrapper such as `timeout`); stats are read from it.
      lpid=$(ss -Hltnp "sport = :$port" 2>/dev/null | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2)
      if [ -n "$lpid" ] && { [ "$lpid" = "$pid" ] ||
           [ "$(awk '/^PPid:/ {print $2}' "/proc/$lpid/status" 2>/dev/null)" = "$pid" ]; }; then
        if [ "$(mc_cmd "$port" version | head -c 7)" = "VERSION" ]; then
          SRV_PID=$lpid; SRV_PORT=$port; SRV_LAUNCH_PID=$pid
          return 0
        fi
      fi
      sleep 0.05
    done
    stop_server "$pid"
  done
  die "could not start $name ($bin); see $OUT/$name.log"
}

stop_server() {  # stop_server PID [LAUNCH_PID]
  local i p q
  for q in "$@"; do kill -TERM "$q" 2>/dev/null; done
  for q in "$@"; do
    for i in $(seq 1 100); do kill -0 "$q" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$q" 2>/dev/null
  done
  for q in "$@"; do wait "$q" 2>/dev/null; done
  local keep=()
  for p in "${PIDS[@]}"; do
    for q in "$@"; do [ "$p" = "$q" ] && continue 2; done
    keep+=("$p")
  done
  PIDS=("${keep[@]}")
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
rss_bytes() { awk '/^VmRSS:/ {print $2 * 1024}' "/proc/$1/status" 2>/dev/null || echo 0; }

# record SERVER SCENARIO ROUND EXTRA_JSON JSON_LINE — append one result line.
record() {
  if [ -z "$5" ]; then  # loadgen produced nothing (connect failed, server died, ...)
    jq -cn --arg server "$1" --arg scenario "$2" --argjson round "$3" \
      '{server: $server, scenario: $scenario, round: $round, failed: true}' >>"$RESULTS"
    echo "run.sh: WARNING: no result for $1/$2 round $3 (see $OUT/loadgen.err)" >&2
    return
  fi
  printf '%s\n' "$5" | jq -c --arg server "$1" --arg scenario "$2" --argjson round "$3" \
    --argjson extra "$4" '. + {server: $server, scenario: $scenario, round: $round} + $extra' \
    >>"$RESULTS" || echo "run.sh: bad loadgen output for $1/$2/$3: $5" >&2
}

prefill() {  # prefill PORT NAME
  local out
  out=$("$LOADGEN" --port "$1" --mode fill --count "$KEYS" --key-size "$KEY_SIZE" \
        --value-size "$VALUE_SIZE" --conns "$CONNS" --depth 64 --timeout 120 2>>"$OUT/loadgen.err") ||
    die "prefill of $2 failed: $out"
}

scenario_args() {
  case "$1" in
    getset)   echo "--mode getset --ratio 0.9" ;;
    multiget) echo "--mode multiget --multiget 100" ;;
    meta)     echo "--mode meta --multiget 100" ;;
    pipeline) echo "--mode pipeline --depth 16" ;;
  esac
}

run_load_scenario() {  # run_load_scenario NAME
  local sc=$1 r name pid port out t0 t1
  local -A P PORT L
  echo "== $sc: starting servers, prefilling $KEYS keys" >&2
  start_server mcd "$MCD_BIN"; P[mcd]=$SRV_PID; PORT[mcd]=$SRV_PORT; L[mcd]=$SRV_LAUNCH_PID
  start_server memcached "$MEMCACHED_BIN"; P[memcached]=$SRV_PID; PORT[memcached]=$SRV_PORT
  L[memcached]=$SRV_LAUNCH_PID
  prefill "${PORT[mcd]}" mcd
  prefill "${PORT[memcached]}" memcached
  for r in $(seq 1 "$ROUNDS"); do
    for name in $(round_order "$r"); do
      pid=${P[$name]}; port=${PORT[$name]}
      t0=$(cpu_ticks "$pid")
      # shellcheck disable=SC2046
      out=$("$LOADGEN" --port "$port" $(scenario_args "$sc") --conns "$CONNS" --keys "$KEYS" \
            --key-size "$KEY_SIZE" --value-size "$VALUE_SIZE" --duration "$DURATION" \
            --warmup "$WARMUP" --seed "$r" 2>>"$OUT/loadgen.err")
      t1=$(cpu_ticks "$pid")
      if ! kill -0 "$pid" 2>/dev/null; then
        echo "run.sh: WARNING: $name ($sc) is no longer running; see $OUT/$name.log" >&2
      fi
      # Server CPU covers warmup + measurement; normalised in the summary.
      record "$name" "$sc" "$r" \
        "{\"server_cpu_s\": $(awk -v a="$t0" -v b="$t1" -v h="$CLK_TCK" 'BEGIN{printf "%.3f", (b-a)/h}'), \"warmup_s\": $WARMUP}" \
        "$out"
      printf '   round %d %-9s %s\n' "$r" "$name" \
        "$(printf '%s' "$out" | jq -r '"ops/s=\(.ops_per_s|floor) p99=\(.p99_us)us errors=\(.errors) loadgen_cpu=\(.cpu_util)"' 2>/dev/null)" >&2
    done
  done
  stop_server "${P[mcd]}" "${L[mcd]}"
  stop_server "${P[memcached]}" "${L[memcached]}"
}

run_memory() {
  local r name bin idle rss items out
  for r in $(seq 1 "$MEM_ROUNDS"); do
    for name in $(round_order "$r"); do
      bin=$MCD_BIN; [ "$name" = memcached ] && bin=$MEMCACHED_BIN
      echo "== memory round $r: $name, storing $MEM_ITEMS items" >&2
      start_server "$name" "$bin"
      mc_stat "$SRV_PORT" curr_items >/dev/null
      sleep 0.5
      idle=$(rss_bytes "$SRV_PID")
      out=$("$LOADGEN" --port "$SRV_PORT" --mode fill --count "$MEM_ITEMS" --key-size "$KEY_SIZE" \
            --value-size "$VALUE_SIZE" --conns "$CONNS" --depth 64 --timeout 180 2>>"$OUT/loadgen.err")
      # Let background work (e.g. hash table growth) settle: wait until RSS is
      # unchanged over 0.5 s (at most ~6 s).
      sleep 1
      rss=$(rss_bytes "$SRV_PID")
      local i prev
      for i in $(seq 1 10); do
        prev=$rss; sleep 0.5; rss=$(rss_bytes "$SRV_PID")
        [ "$rss" = "$prev" ] && break
      done
      items=$(mc_stat "$SRV_PORT" curr_items)
      items=${items:-0}
      record "$name" memory "$r" \
        "{\"idle_rss\": $idle, \"rss\": $rss, \"curr_items\": $items}" "$out"
      printf '   round %d %-9s idle_rss=%s rss=%s curr_items=%s\n' "$r" "$name" "$idle" "$rss" "$items" >&2
      stop_server "$SRV_PID" "$SRV_LAUNCH_PID"
    done
  done
}

# fill_keys PORT NAME COUNT VALUE_SIZE PREFIX — store COUNT keys once, or die. Sets FILL_ERRORS.
# A server that is evicting may answer a few sets with SERVER_ERROR out of memory (memcached
# 1.6.18 does when its LRU tails are busy); up to 1% of them are tolerated.
fill_keys() {
  local out
  out=$("$LOADGEN" --port "$1" --mode fill --count "$3" --key-size "$KEY_SIZE" --value-size "$4" \
        --key-prefix "$5" --conns "$CONNS" --depth 64 --timeout 120 2>>"$OUT/loadgen.err")
  FILL_ERRORS=$(printf '%s' "$out" | jq -r 'if .requests == .stored + .errors and .conns_lost == 0
                                              then .errors else "bad" end' 2>/dev/null)
  [[ "$FILL_ERRORS" =~ ^[0-9]+$ ]] && [ $(( FILL_ERRORS * 100 )) -le "$3" ] ||
    die "fill of $2 ($3 x $4 B) failed: $out"
  [ "$FILL_ERRORS" = 0 ] || echo "   note: $2 answered $FILL_ERRORS of $3 fill sets with an error" >&2
}

# shift: per round and server (one after the other): a fresh server with $MOVER_ARGS is filled
# with 100 B values past its memory, then read through with 4 KB values of new keys under Zipf
# popularity for SHIFT_WINDOWS windows of 10 s, with the server's counters at each window's end.
run_shift() {
  local r name bin out ev t_start wait_s t0 t1
  for r in $(seq 1 "$SHIFT_ROUNDS"); do
    for name in $(round_order "$r"); do
      bin=$MCD_BIN; [ "$name" = memcached ] && bin=$MEMCACHED_BIN
      echo "== shift round $r: $name: $SHIFT_FILL_KEYS x $VALUE_SIZE B, then $SHIFT_VALUE B" \
           "read-through, $SHIFT_WINDOWS x ${SHIFT_INTERVAL}s" >&2
      start_server "$name" "$bin" "$MOVER_ARGS"
      t_start=$(date +%s%N)
      fill_keys "$SRV_PORT" "$name" "$SHIFT_FILL_KEYS" "$VALUE_SIZE" key:
      ev=$(mc_stat "$SRV_PORT" evictions)
      [ "${ev:-0}" -gt 0 ] || echo "run.sh: WARNING: $name evicted nothing during the fill" >&2
      wait_s=$(awk -v a="$t_start" -v b="$(date +%s%N)" -v s="$SHIFT_START" \
               'BEGIN { w = s - (b - a) / 1e9; printf "%.2f", (w > 0 ? w : 0) }')
      echo "   filled in $(awk -v a="$t_start" -v b="$(date +%s%N)" 'BEGIN{printf "%.1f", (b-a)/1e9}')s" \
           "($ev evictions); shift starts at ${SHIFT_START}s uptime" >&2
      [ "$wait_s" = 0.00 ] && echo "run.sh: WARNING: $name took longer than ${SHIFT_START}s to fill" >&2
      sleep "$wait_s"
      t0=$(cpu_ticks "$SRV_PID")
      out=$("$LOADGEN" --port "$SRV_PORT" --mode readthrough --key-prefix zipf: --keys "$SHIFT_KEYS" \
            --zipf "$SHIFT_ZIPF" --key-size "$KEY_SIZE" --value-size "$SHIFT_VALUE" --conns "$CONNS" \
            --warmup 0 --duration $(( SHIFT_WINDOWS * SHIFT_INTERVAL )) --interval "$SHIFT_INTERVAL" \
            --server-stats --stats-log "$OUT/shift-$name-r$r.stats" --seed "$r" 2>>"$OUT/loadgen.err")
      t1=$(cpu_ticks "$SRV_PID")
      kill -0 "$SRV_PID" 2>/dev/null || echo "run.sh: WARNING: $name (shift) is no longer running" >&2
      record "$name" shift "$r" "{\"fill_evictions\": ${ev:-0}, \"fill_errors\": $FILL_ERRORS, \"server_cpu_s\": $(awk -v a="$t0" -v b="$t1" -v h="$CLK_TCK" 'BEGIN{printf "%.3f", (b-a)/h}')}" "$out"
      printf '%s' "$out" | jq -r '.windows[] | "   \(.end_s)s hit=\(.hit_ratio) evictions=\(.srv.evictions)" +
        " slabs_moved=\(.srv.slabs_moved_total) get_p99=\(.get_p99_us)us pages=\(.pages|tostring)"' >&2
      stop_server "$SRV_PID" "$SRV_LAUNCH_PID"
    done
  done
}

# biggest_class PORT — the id of the slab class holding the most pages.
biggest_class() {
  mc_cmd "$1" "stats slabs" | awk '
    $1 == "STAT" && split($2, f, ":") == 2 && f[2] == "total_pages" && $3 > best { best = $3; id = f[1] }
    END { print id }'
}

# movelat: both servers up ($SERVER_ARGS) with automove off, each holding a hot set of
# MOVELAT_HOT items of MOVELAT_VALUE bytes spread over the pages of one class A, two thirds of
# whose chunks are free (filled with 3x the keys, then the other two thirds deleted). Per round and
# server: gets on the hot set with no page moving (idle), and while `slabs reassign A 0` moves
# MOVELAT_RATE pages a second out of A (moving): each move rescues the page's live items into free
# chunks of A. Phases in ABBA order.
run_movelat() {
  local r name bin pid port out phase cls ev t0 t1
  local -A P PORT L CLS
  echo "== movelat: starting servers, $MOVELAT_HOT hot items of $MOVELAT_VALUE B" >&2
  for name in mcd memcached; do
    bin=$MCD_BIN; [ "$name" = memcached ] && bin=$MEMCACHED_BIN
    start_server "$name" "$bin"
    P[$name]=$SRV_PID; PORT[$name]=$SRV_PORT; L[$name]=$SRV_LAUNCH_PID
    [ "$(mc_cmd "$SRV_PORT" "slabs automove 0" | head -1)" = OK ] ||
      die "$name refused 'slabs automove 0'"
    fill_keys "$SRV_PORT" "$name" $(( 3 * MOVELAT_HOT )) "$MOVELAT_VALUE" key:
    out=$("$LOADGEN" --port "$SRV_PORT" --mode delete --first "$MOVELAT_HOT" \
          --count $(( 2 * MOVELAT_HOT )) --key-size "$KEY_SIZE" --conns "$CONNS" --timeout 120 \
          2>>"$OUT/loadgen.err") || die "delete on $name failed: $out"
    ev=$(mc_stat "$SRV_PORT" evictions)
    [ "${ev:-1}" = 0 ] || echo "run.sh: WARNING: $name evicted ${ev:-?} items while filling" >&2
    cls=$(biggest_class "$SRV_PORT")
    [[ "$cls" =~ ^[0-9]+$ ]] || die "$name: no slab class found ($cls)"
    CLS[$name]=$cls
    echo "   $name: hot set in class $cls," \
         "$(mc_cmd "$SRV_PORT" "stats slabs" | awk -v c="$cls:" 'index($2, c) == 1 && $2 ~ /total_pages|free_chunks$|used_chunks/ {printf "%s ", $2 "=" $3}')" >&2
  done
  for r in $(seq 1 "$MOVELAT_ROUNDS"); do
    for name in $(round_order "$r"); do
      pid=${P[$name]}; port=${PORT[$name]}
      for phase in $( [ $(( r % 2 )) = 1 ] && echo "idle moving" || echo "moving idle"); do
        local extra=()
        [ "$phase" = moving ] && extra=(--reassign "${CLS[$name]},0" --reassign-rate "$MOVELAT_RATE")
        t0=$(cpu_ticks "$pid")
        out=$("$LOADGEN" --port "$port" --mode getset --ratio "$MOVELAT_GET_RATIO" \
              --keys "$MOVELAT_HOT" --key-size "$KEY_SIZE" --value-size "$MOVELAT_VALUE" --conns "$MOVELAT_CONNS" --duration "$MOVELAT_S" --warmup 1 \
              --server-stats --seed "$r" "${extra[@]}" 2>>"$OUT/loadgen.err")
        t1=$(cpu_ticks "$pid")
        kill -0 "$pid" 2>/dev/null || echo "run.sh: WARNING: $name (movelat) is no longer running" >&2
        record "$name" movelat "$r" "{\"phase\": \"$phase\", \"class\": ${CLS[$name]}, \"server_cpu_s\": $(awk -v a="$t0" -v b="$t1" -v h="$CLK_TCK" 'BEGIN{printf "%.3f", (b-a)/h}')}" "$out"
        printf '   round %d %-9s %-6s %s\n' "$r" "$name" "$phase" \
          "$(printf '%s' "$out" | jq -r '"gets/s=\(.ops_per_s|floor) p50=\(.get_p50_us)us p99=\(.get_p99_us)us max=\(.get_max_us)us hit=\(.hit_ratio) moved=\(.srv.slabs_moved) rescues=\(.srv.slab_reassign_rescues)"' 2>/dev/null)" >&2
      done
    done
  done
  stop_server "${P[mcd]}" "${L[mcd]}"
  stop_server "${P[memcached]}" "${L[memcached]}"
}

{
  echo "mcd benchmark $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "host: $(uname -srm), $(nproc) CPUs, load avg $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "mcd:       $MCD_BIN"
  echo "memcached: $MEMCACHED_BIN ($("$MEMCACHED_BIN" -V 2>/dev/null))"
  [ "$SELF" = 1 ] && echo "NOTE: --compare-self: both sides are $MEMCACHED_BIN (noise baseline)"
  echo "server args: $SERVER_ARGS -p <port> ${USER_ARGS[*]}"
  [[ ",$SCENARIOS," =~ ,shift, ]] &&
    echo "shift server args: $MOVER_ARGS -p <port> ${USER_ARGS[*]}"
  echo "order=$ORDER rounds=$ROUNDS duration=${DURATION}s warmup=${WARMUP}s conns=$CONNS keys=$KEYS key_size=$KEY_SIZE value_size=$VALUE_SIZE"
} | tee "$OUT/header.txt" >&2

START=$(date +%s)
IFS=, read -r -a SC_LIST <<<"$SCENARIOS"
for sc in "${SC_LIST[@]}"; do
  case "$sc" in
    getset|multiget|meta|pipeline) run_load_scenario "$sc" ;;
    memory) run_memory ;;
    shift) run_shift ;;
    movelat) run_movelat ;;
    *) die "unknown scenario: $sc" ;;
  esac
done
echo "elapsed: $(( $(date +%s) - START ))s, load avg at end $(cut -d' ' -f1-3 /proc/loadavg)" |
  tee -a "$OUT/header.txt" >&2

summarize "$RESULTS" "$SELF" "$SCENARIOS" | tee "$OUT/summary.txt"
echo "results: $RESULTS" >&2
exit 0
