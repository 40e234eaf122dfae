#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Startup: the time from starting `java -jar tlscap.jar -i lo -w x.pcapng` to its stderr line
# starting with "listening on" (JVM start, BPF load and verification, TC attach on lo, uprobes on
# every OpenSSL 3 found), and from SIGTERM to its exit; tcpdump and dumpcap beside it for scale.
# Runs on lo of a private network namespace; the tools alternate (tlscap tcpdump dumpcap, ...);
# median, min and max of RUNS. Prints one table.
#
# runtime: ~15 s.
# usage: bench/startup.sh      (root; java, tcpdump, dumpcap)
# env:   RUNS=5, QUICK=1 (RUNS=3), TOOLS="tlscap tcpdump dumpcap", TLSCAP_JAR, SKIP_BUILD, JAVA_OPTS, KEEP_WORK (lib.sh)
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
runs=${RUNS:-5}
[ "${QUICK:-0}" = 1 ] && runs=${RUNS:-3}
read -ra tools <<<"${TOOLS:-tlscap tcpdump dumpcap}"

bench_init startup
bench_need java tcpdump dumpcap ip
bench_jar
ns=tlscap-bench-start-$$
bench_netns "$ns"

raw=$work/raw.txt
: >"$raw"
for ((i = 1; i <= runs; i++)); do
  for tool in "${tools[@]}"; do
    file=$work/x.pcapng
    [ "$tool" = tcpdump ] && file=$work/x.pcap
    cap_start "$tool" "$ns" lo "$file"
    sleep 0.5
    t0=$(date +%s%N)
    cap_stop
    stop_ms=$((($(date +%s%N) - t0) / 1000000))
    rm -f "$file"
    echo "$tool $i $cap_startup_ms $stop_ms" >>"$raw"
    bench_log "$tool $i $cap_startup_ms $stop_ms"
  done
done

echo "Startup on lo, $(date -u +%Y-%m-%dT%H:%MZ): $runs runs per tool, alternated"
printf '%-42s %12s %14s %14s\n' "" "to listening" "(min - max)" "stop to exit"
for tool in "${tools[@]}"; do
  case $tool in
    tlscap) what="java -jar tlscap.jar -q -i lo -w x.pcapng" ;;
    tcpdump) what="tcpdump -i lo -w x.pcap" ;;
    dumpcap) what="dumpcap -q -i lo -w x.pcapng" ;;
  esac
  printf '%-42s %9s ms %14s %11s ms\n' "$what" "$(col "$raw" "$tool" 3 | median)" \
    "($(col "$raw" "$tool" 3 | sort -n | head -1) - $(col "$raw" "$tool" 3 | sort -n | tail -1))" "$(col "$raw" "$tool" 4 | median)"
done
cat <<NOTE
to listening: from exec to the stderr line that says it captures (tlscap: "listening on ..."; tcpdump: "listening on
..."; dumpcap: "File: ..."); stop to exit: from SIGTERM (tlscap) / SIGINT (tcpdump, dumpcap) to the process's exit.
command: RUNS=$runs bench/startup.sh
machine: $(machine)
NOTE
