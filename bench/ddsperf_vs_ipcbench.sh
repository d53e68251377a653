#!/usr/bin/env bash
# Does ipcbench measure Cyclone DDS as Cyclone's own benchmark does? Alternates, in one run,
# `ddsperf ping`/`ddsperf pong` (cyclonedds-tools) with ipcbench's `cyclonedds` pingpong 64 B
# cell, both set up alike: the driver's Cyclone configuration (loopback only, no multicast,
# unicast discovery, shared memory off), a private domain, waitsets, ping (producer) pinned to
# CPU A and pong (consumer) to CPU B, one CPU per process.
#
#   bench/ddsperf_vs_ipcbench.sh [BUILD_DIR] [ROUNDS] [SECONDS]
#
# ddsperf prints HALF the round trip as its latency (ddsperf.c: (t_pong - t_ping) / 2, and its
# manual: "computes the latency as half of the roundtrip time"): this script doubles its "50%"
# column, each second's, and takes the median over the seconds after the first two (discovery).
# ipcbench's size 64 is 72 bytes on the wire (XCDR: a 4-byte kind, padding, the length, the
# bytes), ddsperf's `size 72` the same. Prints each round and the median of each side with their
# ratio.
set -euo pipefail
build=${1:-build}
rounds=${2:-3}
seconds=${3:-10}
ipcbench="$build/ipcbench"
[ -x "$ipcbench" ] || { echo "missing $ipcbench: build first" >&2; exit 2; }
command -v ddsperf > /dev/null || { echo "ddsperf not found: apt-get install cyclonedds-tools" >&2; exit 2; }
read -r A B < <(/usr/bin/env python3 -c 'import os; c=sorted(os.sched_getaffinity(0)); print(c[-2], c[-1])')
tmp=$(mktemp -d /tmp/ddsperf-vs.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT
export CYCLONEDDS_URI='<CycloneDDS><Domain id="any"><General><Interfaces><NetworkInterface name="lo"/></Interfaces><AllowMulticast>false</AllowMulticast></General><Discovery><ParticipantIndex>auto</ParticipantIndex><Peers><Peer address="127.0.0.1"/></Peers><LeaseDuration>2s</LeaseDuration></Discovery><SharedMemory><Enable>false</Enable><LogLevel>warn</LogLevel></SharedMemory></Domain></CycloneDDS>'
domain=$(( 200 + $$ % 30 ))

ddsperf_rtt() {
  taskset -c "$B" ddsperf -i "$domain" -D $((seconds + 5)) pong waitset > "$tmp/pong.log" 2>&1 &
  local pong=$!
  taskset -c "$A" ddsperf -i "$domain" -D "$seconds" ping size 72 waitset > "$tmp/ping.log" 2>&1 || true
  kill "$pong" 2>/dev/null || true
  wait "$pong" 2>/dev/null || true
  awk '/ size [0-9]+ mean .* 50% /{ for (i=1;i<=NF;i++) if ($i=="50%") { v=$(i+1); sub(/us$/,"",v); print 2*v } }' "$tmp/ping.log" \
    | tail -n +3 | sort -n | awk '{a[NR]=$1} END { if (NR) printf "%.1f\n", (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2); else print "nan" }'
}

ipcbench_rtt() {
  "$ipcbench" run --transports cyclonedds --scenarios pingpong --sizes 64 --repetitions 1 \
    --budget "$seconds" --iterations 1000000000 --cpus "$A,$B" --out "$tmp/run.json" > /dev/null 2>&1 || true
  /usr/bin/env python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
e = [b for b in d["benchmarks"] if b.get("transport") == "cyclonedds" and b.get("run_type") != "aggregate"]
print("%.1f" % (e[0]["p50_ns"] / 1000) if e and "p50_ns" in e[0] else "nan")' "$tmp/run.json"
}

: > "$tmp/dds"
: > "$tmp/ipc"
for round in $(seq 1 "$rounds"); do
  d=$(ddsperf_rtt)
  i=$(ipcbench_rtt)
  echo "$d" >> "$tmp/dds"
  echo "$i" >> "$tmp/ipc"
  printf 'round %d: ddsperf round trip p50 %s us   ipcbench cyclonedds pingpong 64 B p50 %s us\n' "$round" "$d" "$i"
done
echo
/usr/bin/env python3 - "$tmp" <<'PY'
import pathlib, statistics, sys
tmp = pathlib.Path(sys.argv[1])
def values(name):
    return [float(x) for x in (tmp / name).read_text().split() if x != "nan"]
d, i = values("dds"), values("ipc")
if not d or not i:
    sys.exit("a side measured nothing")
md, mi = statistics.median(d), statistics.median(i)
print(f"median round trip p50: ddsperf {md:.1f} us, ipcbench {mi:.1f} us; ipcbench / ddsperf = {mi / md:.2f}")
PY
