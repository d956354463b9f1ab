#!/usr/bin/env bash
# bench/compare.sh — zmtpgo against libzmq, same machine, same run.
#
# Builds the libzmq peer (shared/anchors/zmqbench.c, via its build.sh, which
# installs libzmq3-dev if missing) and cmd/zmtp, whose "zmtp perf" speaks the
# same modes, runs every test with each pair of implementations interleaved
# (A B C D, B C D A, …) RUNS times on 127.0.0.1 ports it picks, and prints a
# Markdown table of medians and min–max with the ratio ours / libzmq.
#
#   bench/compare.sh [-n RUNS] [-T "TESTS"] [-s SECONDS] [-o DIR] [-p] [-w]
#   bench/compare.sh -r RESULTS [-w]
#
#   -n RUNS     runs per pair (env BENCH_N, default 5)
#   -T TESTS    tests, space-separated (env BENCH_TESTS), out of:
#               thr-100 thr-1 thr-1k thr-64k lat conn conn-token mem
#               (default: all; conn-token is conn with ours on TOKEN-HMAC,
#               against libzmq on NULL; lat also runs, in each round, its
#               round trips over plain Go TCP, "zmtp perf lat-tcp-*": the
#               floor the machine allows at that moment)
#   -s SECONDS  how long each thr-send and conn-cli runs (env BENCH_SECS, default 2)
#   -o DIR      keep binaries, raw RESULT lines, logs and the report there
#               (env BENCH_OUT, default a new directory under /tmp)
#   -p          pin each pair's server (receiver) to CPU 0 and its client
#               (sender) to CPU 1 with taskset (env BENCH_PIN=1): each
#               process then has a CPU of its own, and where the operating
#               system places the threads no longer moves the result
#   -w          also write the report into BENCHMARKS.md, in place of what is
#               between its lines <!-- compare.sh:begin --> and
#               <!-- compare.sh:end --> (env BENCH_WRITE=1)
#   -r RESULTS  run nothing: make the report again from the results.tsv of
#               an earlier run (with the header.md beside it, if there)
#
# Progress goes to stderr, the report (machine, command, table) to stdout.
# DIR keeps results.tsv (test, metric, pair, round, value), header.md,
# report.md and each process's output under log/.
set -euo pipefail

runs=${BENCH_N:-5}
tests=${BENCH_TESTS:-"thr-100 thr-1 thr-1k thr-64k lat conn conn-token mem"}
secs=${BENCH_SECS:-2}
out=${BENCH_OUT:-}
write=${BENCH_WRITE:-0}
pin=${BENCH_PIN:-0}
from=
cmdline=$(for v in BENCH_N BENCH_TESTS BENCH_SECS BENCH_OUT BENCH_WRITE BENCH_PIN GOGC GOMEMLIMIT GOMAXPROCS GODEBUG; do [[ -z ${!v:-} ]] || printf "%s='%s' " "$v" "${!v}"; done)"bench/compare.sh $*"
while getopts "n:T:s:o:pwr:h" opt; do
  case $opt in
    n) runs=$OPTARG ;;
    T) tests=$OPTARG ;;
    s) secs=$OPTARG ;;
    o) out=$OPTARG ;;
    w) write=1 ;;
    p) pin=1 ;;
    r) from=$OPTARG ;;
    *) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 1 ;;
  esac
done
shift $((OPTIND - 1))
if (($#)); then
  echo "compare.sh: unexpected argument $1 (-h for help)" >&2
  exit 1
fi

for t in $tests; do
  case $t in
    thr-100 | thr-1 | thr-1k | thr-64k | lat | conn | conn-token | mem) ;;
    *) echo "compare.sh: unknown test $t" >&2; exit 1 ;;
  esac
done
if [[ ! $runs =~ ^[1-9][0-9]*$ ]]; then
  echo "compare.sh: -n wants a whole number of runs, got $runs" >&2
  exit 1
fi
if [[ ! $secs =~ ^([0-9]+\.?[0-9]*|\.[0-9]+)$ ]] || [[ $secs =~ ^[0.]*$ ]]; then
  echo "compare.sh: -s wants a number of seconds above 0, got $secs" >&2
  exit 1
fi
# -p: the prefixes that pin the server and the client.
pin_srv=() pin_cli=()
if [[ $pin == 1 && -z $from ]]; then
  if ! command -v taskset >/dev/null || (($(nproc) < 2)); then
    echo "compare.sh: -p needs taskset and at least 2 CPUs" >&2
    exit 1
  fi
  pin_srv=(taskset -c 0) pin_cli=(taskset -c 1)
fi
secs_up=$(awk -v s="$secs" 'BEGIN { printf "%d", s == int(s) ? s : int(s) + 1 }') # for the watchdogs

# Fixed sizes of the runs.
lat_count=20000 lat_warmup=1000 # lat: timed and untimed round trips of 1 byte
conn_window=32                  # conn: concurrent DEALERs
mem_conns=1000 mem_settle_ms=1000 mem_hold=3

repo=$(cd "$(dirname "$0")/.." && pwd)
doc=$repo/BENCHMARKS.md
log() { printf '%s\n' "$*" >&2; }

# report RESULTS HEADER: the Markdown report, on stdout. HEADER (the
# machine, the command, the code) is a file the run wrote, if there.
report() {
  local results=$1 header=$2
  if [[ -f $header ]]; then
    cat "$header"
  else
    # shellcheck disable=SC2016 # the backquotes are Markdown's
    printf -- '- results: `%s`, reported on %s (no header.md beside it: machine and command unknown)\n' \
      "$results" "$(date -u '+%Y-%m-%d %H:%M UTC')"
  fi
  echo
  # The table: medians per test, metric and pair, with the lowest and
  # highest run; ratio = ours / libzmq, as the ratio of the medians and as
  # the median of each round's own ratio (the paired one: when the
  # machine's load changes during the run, it compares runs made at the
  # same time). The rounds are those in the file.
  awk -F '\t' -v window="$conn_window" '
function median(key,   n, i, v) {
  n = cnt[key]
  for (i = 1; i <= n; i++) v[i] = vals[key, i]
  return med(v, n)
}
function med(v, n,   i, j, t) {
  for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j-1] > v[j]; j--) { t = v[j]; v[j] = v[j-1]; v[j-1] = t }
  return n % 2 ? v[(n+1)/2] : (v[n/2] + v[n/2+1]) / 2
}
# scale picks the unit and precision of metric m for a median x; num
# formats a value of the same cell in them, so a range reads in the
# median'"'"'s unit.
function scale(m, x) {
  div = 1; suf = ""; dec = 1
  if (m == "msgs_per_s" || m == "per_s") {
    if (x >= 1e6) { div = 1e6; suf = " M"; dec = 2 }
    else if (x >= 1e3) { div = 1e3; suf = " k" }
    else dec = 0
  } else if (m == "bytes_per_conn") { div = 1e3; suf = " KB" }
  else if (m == "MB_per_s") dec = 0
}
function num(x) { return sprintf("%." dec "f", x / div) }
function cell(t, m, p,   k, s, md) {
  k = t SUBSEP m SUBSEP p
  if (!(k in cnt) && !(k in fails)) return ""
  if (!(k in cnt)) return "failed"
  md = median(k); scale(m, md)
  s = num(md) suf
  if (cnt[k] > 1) s = s " (" num(lo[k]) "–" num(hi[k]) ")"
  if (fails[k]) s = s " (" cnt[k] "/" cnt[k] + fails[k] ")"
  return s
}
function ratio(t, m, a, b,   ka, kb) {
  ka = t SUBSEP m SUBSEP a; kb = t SUBSEP m SUBSEP b
  if (!(ka in cnt) || !(kb in cnt) || median(kb) == 0) return ""
  return sprintf("%.2f×", median(ka) / median(kb))
}
function paired(t, m, a, b,   r, n, v, x, y, s, mn, mx) {
  n = 0
  for (r = 0; r < runs; r++) {
    x = t SUBSEP m SUBSEP a SUBSEP r; y = t SUBSEP m SUBSEP b SUBSEP r
    if ((x in byround) && (y in byround) && byround[y] != 0) {
      v[++n] = byround[x] / byround[y]
      if (n == 1 || v[n] < mn) mn = v[n]
      if (n == 1 || v[n] > mx) mx = v[n]
    }
  }
  if (!n) return ""
  s = sprintf("%.2f×", med(v, n))
  if (n > 1) s = s sprintf(" (%.2f–%.2f)", mn, mx)
  return s
}
NF < 5 { next }
{
  if ($4 + 1 > runs) runs = $4 + 1
  k = $1 SUBSEP $2 SUBSEP $3
  if (!(($1 SUBSEP $2) in seen)) { seen[$1 SUBSEP $2] = 1; order[++rows] = $1 SUBSEP $2 }
  if ($5 == "FAIL") { fails[k]++; next }
  x = $5 + 0
  vals[k, ++cnt[k]] = x
  if (cnt[k] == 1 || x < lo[k]) lo[k] = x
  if (cnt[k] == 1 || x > hi[k]) hi[k] = x
  byround[k SUBSEP $4] = x
}
END {
  unit["msgs_per_s"] = "msg/s ↑"; unit["MB_per_s"] = "MB/s ↑"; unit["mean_us"] = "mean µs ↓"
  unit["p50_us"] = "p50 µs ↓"; unit["p99_us"] = "p99 µs ↓"; unit["per_s"] = "cycles/s ↑"
  unit["bytes_per_conn"] = "RSS/conn ↓"
  name["thr-1"] = "thr 1 B"; name["thr-100"] = "thr 100 B"; name["thr-1k"] = "thr 1 KiB"
  name["thr-64k"] = "thr 64 KiB"; name["lat"] = "lat REQ/REP 1 B"; name["conn"] = "conn, " window " concurrent"
  name["conn-token"] = "conn, " window " concurrent, ours TOKEN-HMAC vs libzmq NULL"
  name["mem"] = "mem, idle conns"
  print "| test | metric | libzmq→libzmq | ours→ours | **ours / libzmq** | paired | ours→libzmq | libzmq→ours |"
  print "|---|---|---:|---:|---:|---:|---:|---:|"
  for (i = 1; i <= rows; i++) {
    split(order[i], tm, SUBSEP); t = tm[1]; m = tm[2]
    if (m == "MB_per_s" && t != "thr-64k") continue
    if (m == "msgs_per_s" && t == "thr-64k") continue
    printf "| %s | %s | %s | %s | **%s** | %s | %s | %s |\n", (t in name ? name[t] : t), unit[m],
      cell(t, m, "libzmq-libzmq"), cell(t, m, "ours-ours"), ratio(t, m, "ours-ours", "libzmq-libzmq"),
      paired(t, m, "ours-ours", "libzmq-libzmq"), cell(t, m, "ours-libzmq"), cell(t, m, "libzmq-ours")
  }
  if ((("lat" SUBSEP "p99_us" SUBSEP "tcp-tcp") in cnt) || (("lat" SUBSEP "p99_us" SUBSEP "tcp-tcp") in fails)) {
    printf "\nFloor under lat, in the same rounds: a plain Go TCP echo of 1 byte (`zmtp perf lat-tcp-cli`, no ZMTP): mean %s, p50 %s, p99 %s µs.", \
      cell("lat", "mean_us", "tcp-tcp"), cell("lat", "p50_us", "tcp-tcp"), cell("lat", "p99_us", "tcp-tcp")
    if (!(("lat" SUBSEP "p99_us" SUBSEP "tcp-tcp") in cnt)) printf "\n"
    else printf " Against it (ratios of the medians), ours: mean %s, p99 %s; libzmq: mean %s, p99 %s.\n", \
      ratio("lat", "mean_us", "ours-ours", "tcp-tcp"), ratio("lat", "p99_us", "ours-ours", "tcp-tcp"), \
      ratio("lat", "mean_us", "libzmq-libzmq", "tcp-tcp"), ratio("lat", "p99_us", "libzmq-libzmq", "tcp-tcp")
  }
  printf "\nMedians of %d interleaved runs per cell, with the lowest and highest run in parentheses. A→B: A sends (thr) or is the client (lat, conn, mem); B receives or serves.\n", runs
  print "ours / libzmq is the ratio of the two medians; paired is the median of the per-round ratios, with their range (runs made minutes apart can see a different machine)."
  print "thr and mem are measured on the receiving/serving side, lat and conn on the client. ↑ higher is better, ↓ lower is better."
  print "(k/n): only k of n runs gave a result (the others failed or hit the watchdog; their logs are kept)."
}' "$results"
}

# write_doc REPORT: put the file REPORT into BENCHMARKS.md in place of what
# is between the marker lines, which must each be there once, in order.
write_doc() {
  local tmp
  if (($(grep -c '^|' "$1") < 3)); then # the table's head and no row
    log "compare.sh: the report has no results; $doc not written"
    return 1
  fi
  tmp=$(mktemp)
  if ! awk -v report="$1" '
    $0 == "<!-- compare.sh:begin -->" {
      if (state != 0) { bad = 1; exit }
      print; print ""
      while ((getline line < report) > 0) print line
      print ""
      state = 1; next
    }
    $0 == "<!-- compare.sh:end -->" { if (state != 1) { bad = 1; exit }; state = 2 }
    state != 1 { print }
    END { if (bad || state != 2) exit 1 }' "$doc" >"$tmp"; then
    rm -f "$tmp"
    log "compare.sh: $doc needs the lines <!-- compare.sh:begin --> and <!-- compare.sh:end -->, once each and in that order; not written"
    return 1
  fi
  cat "$tmp" >"$doc" # keeps the file's mode
  rm -f "$tmp"
  log "report written into $doc"
}

# -r: the report of an earlier run, and nothing else.
if [[ -n $from ]]; then
  [[ -f $from ]] || { log "compare.sh: no results file $from"; exit 1; }
  tmp=$(mktemp)
  trap 'rm -f "$tmp"' EXIT
  report "$from" "$(dirname "$from")/header.md" >"$tmp"
  cat "$tmp"
  [[ $write != 1 ]] || write_doc "$tmp"
  exit 0
fi

[[ -n $out ]] || out=$(mktemp -d /tmp/compare.XXXXXX)
mkdir -p "$out/bin" "$out/log"
results=$out/results.tsv # test, metric, pair, round, value (or FAIL)
: >"$results"

log "building into $out/bin"
zmqbench=$("$(dirname "$0")/../../shared/anchors/build.sh" "$out/bin" | tail -n 1)
(cd "$repo" && go build -o "$out/bin/zmtp" ./cmd/zmtp)
# conn-token: ours authenticates with TOKEN-HMAC (a fresh random token),
# libzmq stays on NULL, the issue's yardstick for the mechanism's cost.
token=$out/perf.token
head -c 32 /dev/urandom | base64 >"$token"
# impl_cmd IMPL ARRAY TEST: sets ARRAY to the command that runs a mode of
# IMPL in TEST.
# shellcheck disable=SC2034 # cmd_ is a reference to the caller's array
impl_cmd() {
  local -n cmd_=$2
  case $1 in
    libzmq) cmd_=("$zmqbench") ;;
    ours | tcp) cmd_=("$out/bin/zmtp" perf) ;;
  esac
  if [[ $1 == ours && $3 == conn-token ]]; then cmd_+=(-token-file "$token"); fi
}
# libzmq's mem-cli holds two descriptors per socket.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# Ports: below the ephemeral range, so no outgoing connection takes one.
port=$((20000 + RANDOM % 10000))
next_port() {
  while :; do
    port=$((port + 1))
    ((port < 32000)) || port=20001
    listening "$port" || return 0
  done
}
listening() { # PORT: is anything listening on it?
  local hex
  hex=$(printf ':%04X' "$1")
  awk -v p="$hex" 'substr($2, length($2) - 4) == p && $4 == "0A" { found = 1 } END { exit !found }' \
    /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# run_one TEST PAIR SIDE LIMIT "SERVER ARGS" "CLIENT ARGS" KEYS...
# PAIR is CLIENT-SERVER (client = sender, server = receiver); SIDE (srv or
# cli) says whose RESULT line holds KEYS. EP in the args is replaced by the
# endpoint; $round is recorded with the values.
run_one() {
  local test=$1 pair=$2 side=$3 limit=$4 sargs=$5 cargs=$6
  shift 6
  local cli=${pair%-*} srv=${pair#*-} ep name spid ok=1 line key val scmd ccmd
  impl_cmd "$srv" scmd "$test"
  impl_cmd "$cli" ccmd "$test"
  next_port
  ep=tcp://127.0.0.1:$port
  name=$out/log/$test.$pair.$(date +%s%N)
  # shellcheck disable=SC2086 # the args are word lists on purpose
  "${pin_srv[@]}" "${scmd[@]}" -t "$limit" ${sargs//EP/$ep} >"$name.srv" 2>"$name.srv.err" &
  spid=$!
  for _ in $(seq 250); do # up to 5 s for the bind
    listening "$port" && break
    sleep 0.02
  done
  # mem-srv reads its "before" RSS 200 ms after binding: connect after that.
  [[ $test != mem ]] || sleep 0.5
  # shellcheck disable=SC2086
  "${pin_cli[@]}" "${ccmd[@]}" -t "$limit" ${cargs//EP/$ep} >"$name.cli" 2>"$name.cli.err" || ok=0
  if ((ok)); then
    wait "$spid" || ok=0
  else
    kill "$spid" 2>/dev/null || true
    wait "$spid" 2>/dev/null || true
  fi
  line=$(grep -h '^RESULT ' "$name.$side" || true)
  if ((!ok)) || [[ -z $line ]]; then
    log "  $test $pair: FAILED (logs $name.*)"
    for key in "$@"; do printf '%s\t%s\t%s\t%s\tFAIL\n' "$test" "$key" "$pair" "$round" >>"$results"; done
    return 0
  fi
  for key in "$@"; do
    val=$(tr ' ' '\n' <<<"$line" | sed -n "s/^$key=//p")
    printf '%s\t%s\t%s\t%s\t%s\n' "$test" "$key" "$pair" "$round" "${val:-FAIL}" >>"$results"
  done
  log "  $test $pair: $(tr ' ' '\n' <<<"$line" | grep -E "^($(IFS='|'; echo "$*"))=" | tr '\n' ' ')"
}

# run_test TEST: RUNS rounds, the pairs' order rotated each round.
run_test() {
  local test=$1 pairs size i n
  local all="libzmq-libzmq ours-ours ours-libzmq libzmq-ours" same="libzmq-libzmq ours-ours"
  log "$test"
  case $test in
    thr-*) pairs=$all ;;
    lat) pairs="$all tcp-tcp" ;; # tcp-tcp: the floor, a plain TCP echo
    conn | conn-token | mem) pairs=$same ;;
  esac
  read -ra pairs <<<"$pairs"
  n=${#pairs[@]}
  for ((round = 0; round < runs; round++)); do
    for ((i = 0; i < n; i++)); do
      local pair=${pairs[$(((round + i) % n))]}
      case $test in
        thr-*)
          size=${test#thr-}
          size=${size/k/*1024}
          run_one "$test" "$pair" srv $((secs_up + 40)) "thr-recv EP" "thr-send EP $((size)) $secs" msgs_per_s MB_per_s
          ;;
        lat)
          if [[ $pair == tcp-tcp ]]; then
            run_one lat "$pair" cli 60 "lat-tcp-srv EP" "lat-tcp-cli EP 1 $lat_count $lat_warmup" mean_us p50_us p99_us
          else
            run_one lat "$pair" cli 60 "lat-srv EP $((lat_count + lat_warmup))" \
              "lat-cli EP 1 $lat_count $lat_warmup" mean_us p50_us p99_us
          fi
          ;;
        conn | conn-token)
          run_one "$test" "$pair" cli $((secs_up + 30)) "conn-srv EP" "conn-cli EP 100000000 $conn_window $secs" per_s
          ;;
        mem)
          run_one mem "$pair" srv 30 "mem-srv EP $mem_conns $mem_settle_ms" "mem-cli EP $mem_conns $mem_hold" bytes_per_conn
          ;;
      esac
    done
  done
}

start=$(date +%s)
for t in $tests; do run_test "$t"; done
log "done in $(($(date +%s) - start)) s; raw results in $results"

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
cat >"$out/header.md" <<EOF
- date: $(date -u '+%Y-%m-%d %H:%M UTC')
- command: \`$cmdline\` (runs=$runs, thr/conn seconds=$secs)
- code: $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$repo" status --porcelain -- . 2>/dev/null | grep -c . | sed 's/^0$//; s/..*/ + uncommitted changes in & files/')
- machine: $(nproc) CPUs ($cpu), $(go version | cut -d' ' -f3-4), libzmq $(pkg-config --modversion libzmq)
- load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)
EOF
report "$results" "$out/header.md" >"$out/report.md"
cat "$out/report.md"
[[ $write != 1 ]] || write_doc "$out/report.md"
