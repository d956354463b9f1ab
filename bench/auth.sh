#!/usr/bin/env bash
# bench/auth.sh — what authentication costs: handshakes per second with
# NULL, PLAIN and TOKEN-HMAC, and PUSH/PULL throughput after the handshake
# with each, over loopback TCP.
#
#   bench/auth.sh [-n ROUNDS] [-t BENCHTIME]
#
#   -n ROUNDS     rounds (env BENCH_N, default 7); each round runs every
#                 mechanism once, so the machine's drift hits all alike
#   -t BENCHTIME  go test -benchtime per benchmark (env BENCH_TIME, default 1s)
#
# Prints a Markdown table: per mechanism the median over the rounds, and
# the paired ratio to NULL (the median of each round's own ratio).
set -euo pipefail

rounds=${BENCH_N:-7}
benchtime=${BENCH_TIME:-1s}
while getopts "n:t:h" opt; do
  case $opt in
    n) rounds=$OPTARG ;;
    t) benchtime=$OPTARG ;;
    *) sed -n '2,13p' "$0"; exit 2 ;;
  esac
done
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

go test -c -o "$tmp/transport.test" ./transport/
go test -c -o "$tmp/sockets.test" ./sockets/
for i in $(seq "$rounds"); do
  echo "round $i of $rounds" >&2
  "$tmp/transport.test" -test.run '^$' -test.bench '^BenchmarkHandshake$' -test.benchtime "$benchtime" >>"$tmp/raw"
  "$tmp/sockets.test" -test.run '^$' -test.bench '^BenchmarkPushPullMechanism$' -test.benchtime "$benchtime" >>"$tmp/raw"
done

python3 - "$tmp/raw" "$rounds" <<'EOF'
import re, statistics, sys
raw, rounds = sys.argv[1], int(sys.argv[2])
series = {}  # name -> [value per round]
for line in open(raw):
    m = re.match(r'Benchmark(\S+?)(?:-\d+)?\s+\d+\s+([\d.]+) ns/op.*?([\d.]+) (handshakes|msgs)/s', line)
    if m:
        series.setdefault(m.group(1), []).append((float(m.group(2)), float(m.group(3)), m.group(4)))
def row(name, base):
    vals = series[name]
    per_s = statistics.median(v[1] for v in vals)
    ns = statistics.median(v[0] for v in vals)
    paired = statistics.median(v[0] / b[0] for v, b in zip(vals, series[base]))
    return ns, per_s, paired
print("| benchmark | mechanism | ns/op (median) | per second (median) | cost / NULL (paired) |")
print("|---|---|---:|---:|---:|")
order = {"NULL": 0, "PLAIN": 1, "TOKEN-HMAC": 2}
def key(name):
    kind, mech, *rest = name.split("/")
    return (kind, [int(re.sub(r"\D", "", r) or 0) for r in rest], order.get(mech, 9))
for name in sorted(series, key=key):
    kind, mech, *rest = name.split("/")
    base = "/".join([kind, "NULL", *rest])
    ns, per_s, paired = row(name, base)
    unit = series[name][0][2]
    label = kind + ("/" + "/".join(rest) if rest else "")
    print(f"| {label} | {mech} | {ns/1000:.1f} µs | {per_s:,.0f} {unit}/s | {paired:.2f}× |" if unit == "handshakes"
          else f"| {label} | {mech} | {ns:.0f} ns | {per_s/1e6:.2f} M {unit}/s | {paired:.2f}× |")
print(f"\n{rounds} rounds; each cell a median over them.")
EOF
