#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# A 64-byte UDP flood on lo (iperf3 -u -b 0 -l 64), captured to a file by nobody, by tcpdump -w and
# by tlscap (TC classifier -> ring buffer -> pcapng writer, tc-classifier's FloodCapture), alternated
# A B C A B C... in one run. Reports per capturer (medians over the rounds): the flood rate it let
# the sender reach (datagrams/s, and as a share of the uncaptured rate), the datagrams its file
# holds, those it counted as dropped, the capturer's CPU% during the flood and its peak RSS.
#
# usage: bench/tc-flood.sh [ROUNDS=3] [SECONDS=5]        (root; iperf3, tcpdump, java, mvn)
# env:   CAPTURER=jar runs the whole product (java -jar target/tlscap.jar: classifier, TLS secrets,
#        connection table, hold-back, writer) instead of tc-classifier's FloodCapture;
#        FILTER=0 captures all of lo instead of 'udp port PORT'; TLSCAP_OPTS adds FloodCapture
#        options (e.g. "--ring 33554432 --wakeup-ns 0"); JAVA_OPTS adds JVM options;
#        SKIP_BUILD=1 uses the classes already built.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
rounds=${1:-3}
seconds=${2:-5}
repo=$bench_repo
cd "$repo"

bench_init tc-flood
bench_need iperf3 tcpdump java mvn awk
results="$repo/bench/results"
mkdir -p "$results"
stamp=$(date +%Y%m%d-%H%M%S)
table="$results/tc-flood-$stamp.txt"
capturer_pid=""

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  echo "building tc-classifier (and what it needs)..." >&2
  mvn -B -ntp -q -pl tc-classifier -am install -DskipTests >&2
fi
if [ "${CAPTURER:-}" = jar ]; then bench_jar; fi
mvn -B -ntp -q -pl tc-classifier dependency:build-classpath -Dmdep.includeScope=test \
  -Dmdep.outputFile="$work/cp.txt" >&2
cp="$repo/tc-classifier/target/test-classes:$repo/tc-classifier/target/classes:$(cat "$work/cp.txt")"

port=$((20000 + RANDOM % 20000))
if [ "${FILTER:-1}" = 1 ]; then filter="udp port $port"; else filter=""; fi
# one flood: MODE ROUND -> "mode round sent_pps sent in_file dropped cpu% rss_kb" appended to $raw (not in a
# subshell: the cleanup must know every process it starts)
flood() {
  local mode=$1 round=$2 file="" log="$work/$1-$2.log"
  bench_spawn "" iperf3 -s -1 -p "$port" >/dev/null 2>&1
  local server_pid=$spawned
  case $mode in
    tcpdump)
      file="$work/tcpdump-$round.pcap"
      # shellcheck disable=SC2086
      bench_spawn "" tcpdump -Z root -i lo -w "$file" $filter >"$log" 2>&1
      capturer_pid=$spawned
      await_line "$log" "listening on" "$capturer_pid"
      ;;
    tlscap)
      file="$work/tlscap-$round.pcapng"
      if [ "${CAPTURER:-}" = jar ]; then
        # shellcheck disable=SC2086
        bench_spawn "" java ${JAVA_OPTS:-} -jar "$jar" -q -i lo -w "$file" $filter >"$log" 2>&1
        capturer_pid=$spawned
        await_line "$log" "^listening on" "$capturer_pid"
      else
        # shellcheck disable=SC2086
        bench_spawn "" java ${JAVA_OPTS:-} -cp "$cp" dev.tlscap.tc.FloodCapture -i lo -w "$file" ${filter:+--filter "$filter"} \
          ${TLSCAP_OPTS:-} >"$log" 2>&1
        capturer_pid=$spawned
        await_line "$log" "^ready" "$capturer_pid"
      fi
      ;;
  esac
  sleep 1
  local t0=0 t1=0 start end
  [ -n "$capturer_pid" ] && t0=$(proc_ticks "$capturer_pid")
  start=$(date +%s.%N)
  iperf3 -c 127.0.0.1 -p "$port" -u -b 0 -l 64 -t "$seconds" -J >"$work/iperf-$mode-$round.json"
  end=$(date +%s.%N)
  local cpu="-" rss="-" in_file="-" dropped="-"
  if [ -n "$capturer_pid" ]; then
    t1=$(proc_ticks "$capturer_pid")
    rss=$(proc_hwm_kb "$capturer_pid")
    cpu=$(cpu_pct "$t0" "$t1" "$(elapsed "$start" "$end")" | awk '{printf "%.0f", $1}')
    sleep 2 # tcpdump hands its last TPACKET_V3 block to user space after a 1 s timeout; SIGINT drops it
    if [ "$mode" = tcpdump ]; then bench_reap "$capturer_pid" INT; else bench_reap "$capturer_pid" TERM; fi
    capturer_pid=""
    if [ "$mode" = tcpdump ]; then
      dropped=$(awk '/dropped by kernel/ {print $1}' "$log")
    elif [ "${CAPTURER:-}" = jar ]; then
      dropped=$(sed -n 's/.* packets captured, \([0-9]*\) dropped by the kernel.*/\1/p' "$log")
    else
      dropped=$(sed -n 's/.*dropped=\([0-9]*\).*/\1/p' "$log")
    fi
    in_file=$(java -cp "$cp" dev.tlscap.tc.FloodCount "$file" "$port" 64)
    rm -f "$file"
  fi
  bench_reap "$server_pid" TERM # iperf3 -s -1 has exited by now; reaps it
  local sent pps
  sent=$(sed -n '/"sum_sent"/,/}/ s/.*"packets":[[:space:]]*\([0-9]*\).*/\1/p' "$work/iperf-$mode-$round.json" | head -1)
  pps=$(sed -n '/"sum_sent"/,/}/ s/.*"seconds":[[:space:]]*\([0-9.]*\).*/\1/p' "$work/iperf-$mode-$round.json" | head -1)
  pps=$(awk -v n="$sent" -v s="$pps" 'BEGIN {printf "%.0f", n / s}')
  echo "$mode $round $pps $sent $in_file ${dropped:-0} $cpu $rss" | tee -a "$raw" >&2
}

echo "64-byte UDP flood on lo, $seconds s per run, $rounds rounds, filter: ${filter:-none}, $(nproc) CPUs, kernel $(uname -r)" >&2
raw="$work/raw.txt"
: >"$raw"
for round in $(seq 1 "$rounds"); do
  for mode in none tcpdump tlscap; do
    flood "$mode" "$round"
  done
done

{
  echo "# bench/tc-flood.sh $rounds $seconds -- $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, kernel $(uname -r), filter: ${filter:-none}"
  echo "# iperf3 -c 127.0.0.1 -u -b 0 -l 64 -t $seconds; medians over $rounds rounds (A B C alternated)"
  awk -v rounds="$rounds" '
    function median(list,   n, i, j, t, a) {
      n = split(list, a, " ")
      for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
      return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    {
      pps[$1] = pps[$1] " " $3
      if ($5 != "-") { kept[$1] = kept[$1] " " ($4 > 0 ? $5 / $4 : 0); acc[$1] = acc[$1] " " ($4 > 0 ? ($5 + $6) / $4 : 0) }
      if ($7 != "-") { cpu[$1] = cpu[$1] " " $7; rss[$1] = rss[$1] " " $8; drop[$1] = drop[$1] " " $6 }
    }
    END {
      base = median(pps["none"])
      printf "%-9s %14s %10s %12s %14s %16s %7s %10s\n", "capturer", "datagrams/s", "vs none", "vs tcpdump", "kept in file", "kept+counted", "CPU%", "peak RSS"
      split("none tcpdump tlscap", modes, " ")
      for (m = 1; m <= 3; m++) {
        k = modes[m]
        r = median(pps[k])
        printf "%-9s %14.0f %9.2fx %11.2fx %13.1f%% %15.1f%% %7s %10s\n", k, r, r / base,
          r / median(pps["tcpdump"]),
          k == "none" ? 100 : 100 * median(kept[k]), k == "none" ? 100 : 100 * median(acc[k]),
          k == "none" ? "-" : median(cpu[k]), k == "none" ? "-" : sprintf("%.0f MiB", median(rss[k]) / 1024)
      }
    }' "$raw"
  awk '
    function median(list,   n, i, j, t, a) {
      n = split(list, a, " ")
      for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
      return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    { rate[$1, $2] = $3; rounds[$2] = 1 }
    END {
      for (r in rounds) { tl = tl " " rate["tlscap", r] / rate["tcpdump", r]; nn = nn " " rate["tlscap", r] / rate["none", r] }
      printf "# per round: tlscap/tcpdump median %.2fx (%s ), tlscap/none median %.2fx\n", median(tl), tl, median(nn)
    }' "$raw"
  echo "# capturer: ${CAPTURER:-FloodCapture} ; JVM: ${JAVA_OPTS:-defaults}; FloodCapture options: ${TLSCAP_OPTS:-defaults}"
  echo "# raw: mode round sent_datagrams/s sent in_file dropped cpu% peak_rss_kB"
  sed 's/^/#   /' "$raw"
} | tee "$table"
echo "written to $table" >&2
