#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Exec storm: what tlscap's discovery of programs started later (the exec watcher: each new
# program's executable examined at once, its mapped libraries looked at 100 ms and 1 s later, a
# new root's libraries listed) costs a host that starts thousands of short processes. N processes
# are started one after the other (a shell loop), with
#   off     tlscap not running
#   tlscap  `java -jar tlscap.jar -i lo -w FILE` running (discovery on, as by default)
# rotated every round; medians over the rounds. Two workloads: /bin/true (no TLS library) and
# `openssl version` (maps libcrypto: the finder looks at every one). Goal: execs/s ratio >= 0.9.
# Also the CPU tlscap spent per exec. Prints one table (stdout); raw lines on stderr.
#
# runtime: ~1 min with the defaults (2 workloads x 2 modes x 3 rounds), ~20 s with QUICK=1.
# usage: bench/exec-storm.sh      (root; java, openssl)
# env:   N=2000, ROUNDS=3, QUICK=1 (N=500 ROUNDS=1), TLSCAP_JAR, SKIP_BUILD, KEEP_WORK (see lib.sh)
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
n=${N:-2000}
rounds=${ROUNDS:-3}
if [ "${QUICK:-0}" = 1 ]; then n=${N:-500}; rounds=${ROUNDS:-1}; fi

bench_init exec-storm
bench_need java openssl
bench_jar

# storm WORKLOAD -> "execs_per_second"
storm() {
  local t0 t1 i
  t0=$(now)
  case $1 in
    true) for ((i = 0; i < n; i++)); do /bin/true; done ;;
    openssl) for ((i = 0; i < n; i++)); do openssl version >/dev/null; done ;;
  esac
  t1=$(now)
  awk -v n="$n" -v s="$(elapsed "$t0" "$t1")" 'BEGIN {printf "%.0f\n", n / s}'
}

raw=$work/raw.txt
: >"$raw"
bench_log "$rounds rounds, $n execs per storm, workloads /bin/true and 'openssl version'"
for ((r = 1; r <= rounds; r++)); do
  for workload in true openssl; do
    for mode in $(rotate $((r - 1)) off tlscap); do
      ticks=-
      if [ "$mode" = tlscap ]; then
        cap_start tlscap "" lo "$work/storm.pcapng" port 9
        sleep 1 # the JVM settles before the clock runs
        c0=$(proc_ticks "$cap_pid")
      else
        sleep 1
      fi
      rate=$(storm "$workload")
      if [ "$mode" = tlscap ]; then
        sleep 1.2 # the rescans 100 ms and 1 s after each exec are part of the cost
        c1=$(proc_ticks "$cap_pid")
        ticks=$(awk -v a="$c0" -v b="$c1" -v hz="$bench_clk" -v n="$n" 'BEGIN {printf "%.1f", (b - a) / hz * 1e6 / n}')
        cap_stop
      fi
      echo "$workload-$mode $r $rate $ticks" >>"$raw"
      bench_log "$workload $mode $r $rate execs/s, tlscap ${ticks} us CPU per exec"
    done
  done
done

{
  printf "Exec storm: %s short processes one after the other, with and without tlscap running; medians of %s rounds\n" "$n" "$rounds"
  printf "%-22s %14s %14s %8s %22s\n" workload "off execs/s" "tlscap execs/s" ratio "tlscap CPU us/exec"
  for workload in true openssl; do
    off=$(col "$raw" "$workload-off" 3 | median)
    on=$(col "$raw" "$workload-tlscap" 3 | median)
    cpu=$(col "$raw" "$workload-tlscap" 4 | median)
    label=$([ "$workload" = true ] && echo "/bin/true" || echo "openssl version")
    printf "%-22s %14s %14s %8s %22s\n" "$label" "$off" "$on" "$(ratio "$on" "$off")" "$cpu"
  done
  echo "tlscap CPU us/exec: the capturing JVM's CPU (all threads) from before the storm to 1.2 s after it, per exec."
  echo "machine: $(machine)"
}
echo "# raw: workload-mode round execs/s tlscap_cpu_us/exec" >&2
cat "$raw" >&2
