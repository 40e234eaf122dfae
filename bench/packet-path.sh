#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Packet path: how fast traffic may flow while it is captured to a file, and what the file keeps.
# Four workloads -- a 64-byte UDP flood (iperf3 -u -b 0 -l 64) and a bulk TCP stream (iperf3) on lo,
# and the same two across a veth pair -- each captured (whole interface, no filter) by tlscap
# (java -jar tlscap.jar), by tcpdump -w, by dumpcap -w, and not captured. The capturers are rotated
# every round (none tlscap tcpdump dumpcap, tlscap tcpdump dumpcap none, ...); medians over the rounds.
#
# Everything runs in two network namespaces this script creates and deletes (lo of the first; a
# veth pair between the two), so the packets on the interface are exactly the benchmark's: the
# interface's own counters say how many there were, and kept + counted dropped can be checked
# against them. Prints one table (stdout); progress and raw lines on stderr.
#
# runtime: ~7 min with the defaults (4 workloads x 4 capturers x 3 rounds x 5 s), ~2 min with QUICK=1.
# usage: bench/packet-path.sh         (root; iperf3, tcpdump, dumpcap + capinfos (tshark), jq, java)
# env:   ROUNDS=3 SECONDS=5 (per flood), QUICK=1 (ROUNDS=1 SECONDS=2, a smoke run),
#        WORKLOADS="lo-udp lo-tcp veth-udp veth-tcp", CAPTURERS="none tlscap tcpdump dumpcap",
#        OUT_DIR (where the capture files go; default the work directory under /tmp),
#        FILTER (a capture filter every capturer gets, e.g. FILTER='port 5201': matches every packet of
#        the workloads, so it costs the filter's work and keeps the same packets; default none),
#        TLSCAP_JAR, SKIP_BUILD, JAVA_OPTS, TLSCAP_ARGS (extra tlscap options), KEEP_WORK (see lib.sh)
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
seconds=$(env_at_start SECONDS)
seconds=${seconds:-${DURATION:-5}}
rounds=${ROUNDS:-3}
if [ "${QUICK:-0}" = 1 ]; then rounds=${ROUNDS:-1}; seconds=$(env_at_start SECONDS); seconds=${seconds:-2}; fi
read -ra workloads <<<"${WORKLOADS:-lo-udp lo-tcp veth-udp veth-tcp}"
read -ra capturers <<<"${CAPTURERS:-none tlscap tcpdump dumpcap}"
filter=${FILTER:-}

bench_init packet-path
bench_need iperf3 tcpdump dumpcap capinfos jq java ip
bench_jar
out_dir=${OUT_DIR:-$work}
mkdir -p "$out_dir"

# two namespaces: "a" (lo, the client, every capturer) and "b" (the veth peer's server)
ns_a=tlscap-bench-a-$$
ns_b=tlscap-bench-b-$$
veth_a=tbva$$
veth_b=tbvb$$
bench_netns "$ns_a"
bench_netns "$ns_b"
ip link add "$veth_a" netns "$ns_a" type veth peer name "$veth_b" netns "$ns_b"
for ns in "$ns_a" "$ns_b"; do
  ip netns exec "$ns" sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
done
ip -n "$ns_a" addr add 10.201.0.1/24 dev "$veth_a"
ip -n "$ns_b" addr add 10.201.0.2/24 dev "$veth_b"
ip -n "$ns_a" link set "$veth_a" up
ip -n "$ns_b" link set "$veth_b" up
port=5201

# wire_packets IFACE: the packets the interface carried so far (lo: received, each packet crosses it
# once; veth: sent + received + dropped on sending), as a capturer on it sees them
wire_packets() {
  ip netns exec "$ns_a" sh -c "cd /sys/class/net/$1/statistics && if [ $1 = lo ]; then cat rx_packets; else echo \$((\$(cat tx_packets) + \$(cat rx_packets) + \$(cat tx_dropped))); fi"
}

# one run: WORKLOAD CAPTURER ROUND -> a raw line appended to $raw (not in a subshell: the cleanup
# must know every process it starts)
#   "workload capturer round rate wire kept dropped cpu% peak_rss_kB"
# rate: datagrams/s sent (UDP) or Gbit/s received (TCP)
run() {
  local workload=$1 tool=$2 round=$3 iface server_ns target proto file json w0 w1 p0 p1 c0 c1
  case $workload in
    lo-*) iface=lo; server_ns=$ns_a; target=127.0.0.1 ;;
    veth-*) iface=$veth_a; server_ns=$ns_b; target=10.201.0.2 ;;
  esac
  proto=${workload#*-}
  bench_spawn "$server_ns" iperf3 -s -1 -B "$target" -p "$port" >/dev/null 2>&1
  local server=$spawned
  local cpu=- rss=- kept=- dropped=- wire=-
  if [ "$tool" != none ]; then
    file=$out_dir/$workload-$tool-$round.pcap
    [ "$tool" = tcpdump ] || file=${file}ng
    if [ -n "$filter" ]; then cap_start "$tool" "$ns_a" "$iface" "$file" "$filter"; else cap_start "$tool" "$ns_a" "$iface" "$file"; fi
    sleep 1 # settle (JIT, first blocks)
    c0=$(wire_packets "$iface")
    p0=$(proc_ticks "$cap_pid")
  fi
  for _ in $(seq 50); do ip netns exec "$server_ns" ss -ltn | grep -q ":$port " && break; sleep 0.02; done
  json=$work/iperf.json
  w0=$(now)
  if [ "$proto" = udp ]; then
    ip netns exec "$ns_a" iperf3 -c "$target" -p "$port" -u -b 0 -l 64 -t "$seconds" -J >"$json"
  else
    ip netns exec "$ns_a" iperf3 -c "$target" -p "$port" -t "$seconds" -J >"$json"
  fi
  w1=$(now)
  if [ "$tool" != none ]; then
    # tcpdump and dumpcap hand the last TPACKET_V3 block to user space after a 1 s timeout; all capturers
    # get the same 2 s to catch up; their CPU time counts until the stop, per second of flood
    sleep 2
    p1=$(proc_ticks "$cap_pid")
    rss=$(proc_hwm_kb "$cap_pid")
    c1=$(wire_packets "$iface")
    cap_stop
    cpu=$(cpu_pct "$p0" "$p1" "$(elapsed "$w0" "$w1")")
    wire=$((c1 - c0))
    dropped=$cap_dropped
    kept=$(packets_in "$file")
    rm -f "$file"
  fi
  bench_reap "$server" TERM
  local rate
  if [ "$proto" = udp ]; then
    rate=$(jq -r '.end.sum_sent | (.packets / .seconds | floor)' "$json")
  else
    rate=$(jq -r '.end.sum_received.bits_per_second / 1e9 * 1000 | floor / 1000' "$json")
  fi
  echo "$workload $tool $round $rate $wire $kept $dropped $cpu $rss" >>"$raw"
  bench_log "$workload $tool $round $rate $wire $kept $dropped $cpu $rss"
}

bench_log "$rounds rounds x ${#workloads[@]} workloads x ${#capturers[@]} capturers, $seconds s per flood; $(nproc) CPUs, kernel $(uname -r)"
raw=$work/raw.txt
: >"$raw"
for ((r = 1; r <= rounds; r++)); do
  for workload in "${workloads[@]}"; do
    for tool in $(rotate $((r - 1)) "${capturers[@]}"); do
      run "$workload" "$tool" "$r"
    done
  done
done

# ---- the table ----
label() {
  case $1 in
    lo-udp) echo "lo, UDP 64 B" ;; lo-tcp) echo "lo, TCP bulk" ;;
    veth-udp) echo "veth, UDP 64 B" ;; veth-tcp) echo "veth, TCP bulk" ;; *) echo "$1" ;;
  esac
}
echo "Packet path: traffic captured to a file, $(date -u +%Y-%m-%dT%H:%MZ); medians of $rounds rounds x $seconds s, capturers rotated every round${filter:+; filter '$filter'}"
printf '%-15s %-8s %15s %8s %11s %8s %8s %8s %6s %9s\n' workload capturer "rate allowed" "vs none" "wire pkts" kept dropped "missing" "CPU%" "peak RSS"
for workload in "${workloads[@]}"; do
  unit="pkt/s"
  [ "${workload#*-}" = tcp ] && unit="Gbit/s"
  for tool in "${capturers[@]}"; do
    rate=$(col "$raw" "$workload $tool" 4 | median)
    # the ratio of each round's rate to the same round's uncaptured rate, then the median
    vs=$(awk -v w="$workload" -v t="$tool" '$1 == w && $2 == "none" {n[$3] = $4} $1 == w && $2 == t {c[$3] = $4}
      END {for (r in c) if (n[r] > 0) print c[r] / n[r]}' "$raw" | median)
    if [ "$tool" = none ]; then
      printf '%-15s %-8s %15s %8s %11s %8s %8s %8s %6s %9s\n' "$(label "$workload")" "$tool" "$rate $unit" "1.00" - - - - - -
      continue
    fi
    wire=$(col "$raw" "$workload $tool" 5 | median)
    kept=$(awk -v w="$workload" -v t="$tool" '$1 == w && $2 == t && $5 > 0 {print 100 * $6 / $5}' "$raw" | median)
    dropped=$(awk -v w="$workload" -v t="$tool" '$1 == w && $2 == t && $5 > 0 {print 100 * $7 / $5}' "$raw" | median)
    missing=$(awk -v w="$workload" -v t="$tool" '$1 == w && $2 == t && $5 > 0 {m = 100 * ($5 - $6 - $7) / $5; print m}' "$raw" | median)
    cpu=$(col "$raw" "$workload $tool" 8 | median)
    rss=$(col "$raw" "$workload $tool" 9 | median)
    printf '%-15s %-8s %15s %8s %11s %7.1f%% %7.1f%% %7.1f%% %6.0f %5.0f MiB\n' "$(label "$workload")" "$tool" "$rate $unit" \
      "$(ratio "$vs" 1)" "$wire" "$kept" "$dropped" "$missing" "$cpu" "$(awk -v k="$rss" 'BEGIN {print k / 1024}')"
  done
done
cat <<NOTE
rate allowed: UDP datagrams/s the sender reached, or TCP Gbit/s received (iperf3); vs none: per-round
ratio to the uncaptured run of the same round. wire pkts: packets the interface carried during the
capture (its kernel counters; GSO packets count once, as capturers see them). kept: packets in the
file; dropped: what the capturer itself counted as lost (tcpdump/dumpcap: "dropped by kernel";
tlscap: dropped by the kernel + not written); missing: lost without a count (wire - kept - dropped;
below 0 when a capturer counts more drops than it lost: on lo the kernel counts both the sent and the
received copy of a packet in tcpdump's and dumpcap's counters, though they keep only one).
CPU%: the capturer's CPU time from the flood's start until it was stopped (2 s after the flood),
per second of flood (100 = one core). peak RSS: its VmHWM.
command: ROUNDS=$rounds SECONDS=$seconds${filter:+ FILTER='$filter'} bench/packet-path.sh; tlscap -q -i IFACE -w FILE${filter:+ '$filter'}; tcpdump -i IFACE -w FILE${filter:+ '$filter'}; dumpcap -q -i IFACE -w FILE${filter:+ -f '$filter'}
machine: $(machine)
NOTE
echo "# raw: workload capturer round rate wire kept dropped cpu% peak_rss_kB" >&2
sed 's/^/#   /' "$raw" >&2
